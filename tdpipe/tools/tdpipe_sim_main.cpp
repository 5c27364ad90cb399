// SPDX-License-Identifier: GPL-2.0-or-later
//
// tdpipe-sim: throughput of the schedulers on a simulated deployment.
//   tdpipe-sim [--model llama2-13b|llama2-34b|llama2-70b] [--gpu h200|a100|l20]
//              [--gpus 4] [--scheduler all|tdpipe|vllm-pp|vllm-chunked|chunked|tp]
//              [--requests 5000] [--seed 1] [--rate R] [--workload FILE]
//              [--profile CSV] [--accuracy A | --predictor exact|none]
//              [--max-batch-seqs 256] [--max-batch-tokens 4096] [--chunk-tokens 512]
//              [--kv-fraction 0.9] [--predictor-us 2]
// With --profile, H200 stages cost what the profile measured and the
// roofline of other GPUs uses efficiencies fitted to it. Prints one row
// per scheduler and each one's throughput relative to TD-Pipe's. The
// length predictor's running time (--predictor-us per request, measured by
// tdpipe-predictor train) is charged to the first stage as requests are
// admitted.
#include "sim/predictions.h"
#include "sim/setup.h"
#include "tools/options.h"

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

using namespace tdpipe;
using namespace tdpipe::sim;

int main(int argc, char** argv) {
  try {
    Options o(argc, argv, {"help"});
    if (o.has("help")) {
      std::puts(
          "usage: tdpipe-sim [--model M] [--gpu G] [--gpus N] [--scheduler all|tdpipe|vllm-pp|"
          "vllm-chunked|chunked|tp]\n"
          "                  [--requests N] [--seed S] [--rate R] [--workload FILE] [--profile "
          "CSV]\n"
          "                  [--accuracy A | --predictor exact|none] [--max-batch-seqs N]\n"
          "                  [--max-batch-tokens N] [--chunk-tokens N] [--kv-fraction F] "
          "[--predictor-us U]");
      return 0;
    }
    Deployment d;
    d.model = o.has("model") ? o.text("model") : d.model;
    d.gpu = o.has("gpu") ? o.text("gpu") : d.gpu;
    d.gpus = int(o.number("gpus", 4, 1, 64));
    d.max_batch_seqs = int(o.number("max-batch-seqs", d.max_batch_seqs, 1, 1 << 20));
    d.max_batch_tokens = int(o.number("max-batch-tokens", d.max_batch_tokens, 1, 1 << 20));
    d.chunk_tokens = int(o.number("chunk-tokens", d.chunk_tokens, 1, 1 << 20));
    d.kv_fraction = o.real("kv-fraction", d.kv_fraction);
    if (o.has("profile")) {
      d.profile = o.text("profile");
      d.fit = fit_roofline(d.profile);
    }
    shape_named(d.model);
    gpu_named(d.gpu);

    const std::uint64_t seed = std::uint64_t(o.number("seed", 1, 0, 1L << 62));
    std::vector<SimRequest> requests =
        o.has("workload")
            ? read_workload(o.text("workload"))
            : sharegpt_like(int(o.number("requests", 5000, 1, 10000000)), seed, o.real("rate", 0));
    std::vector<int> predicted;
    std::string predictor = o.has("predictor") ? o.text("predictor") : "accuracy";
    double accuracy = o.real("accuracy", 0.8);
    if (predictor == "exact")
      predicted = exact_predictions(requests);
    else if (predictor == "none")
      predicted.assign(requests.size(), 0);
    else if (predictor == "accuracy" && accuracy >= 0 && accuracy <= 1)
      predicted = bucket_predictions(requests, accuracy, seed);
    else
      throw std::invalid_argument("--predictor exact|none, or --accuracy between 0 and 1");

    std::vector<std::string> schedulers{"tdpipe", "vllm-pp", "vllm-chunked", "chunked", "tp"};
    std::string which = o.has("scheduler") ? o.text("scheduler") : "all";
    if (which != "all") schedulers = {which};

    std::printf(
        "%s on %d x %s, %zu requests, cost: %s (roofline fit: compute %.3f, memory %.3f, "
        "overhead %.0f us)\n",
        d.model.c_str(), d.gpus, d.gpu.c_str(), requests.size(),
        d.profile.empty() ? "roofline" : (d.gpu == "h200" ? "profile" : "fitted roofline"),
        d.fit.compute, d.fit.memory, d.fit.overhead * 1e6);
    std::printf("%-12s %12s %12s %10s %6s %8s %9s %9s %8s %9s\n", "scheduler", "out tok/s",
                "total tok/s", "makespan", "busy", "dec.batch", "switches", "preempt", "blocks",
                "tdpipe/x");
    double tdpipe_rate = 0;
    for (const std::string& name : schedulers) {
      Deployment dd = d;
      dd.tensor_parallel = name == "tp";
      SimSetup setup = make_setup(dd, name);
      if (name == "tdpipe") setup.predictor_seconds = o.real("predictor-us", 2.0) * 1e-6;
      SimResult r = simulate(setup, requests, predicted);
      if (name == "tdpipe") tdpipe_rate = r.output_throughput();
      std::printf(
          "%-12s %12.1f %12.1f %9.1fs %6.3f %8.1f %9llu %9llu %8d %9s\n", name.c_str(),
          r.output_throughput(), r.total_throughput(), r.makespan, r.busy, r.mean_decode_batch,
          (unsigned long long)r.stats.phase_switches, (unsigned long long)r.stats.preemptions,
          setup.config.kv_blocks,
          tdpipe_rate > 0
              ? (std::to_string(tdpipe_rate / r.output_throughput()).substr(0, 5) + "x").c_str()
              : "-");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tdpipe-sim: %s\n", e.what());
    return 1;
  }
  return 0;
}
