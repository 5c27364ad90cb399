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
#include "tdpipe/sim/predictions.h"
#include "tdpipe/sim/setup.h"

#include "converge/cli.h"

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

using namespace tdpipe;
using namespace tdpipe::sim;

int main(int argc, char** argv) {
  return converge::cli::run("tdpipe-sim", [&] {
    CLI::App app{"Throughput of the schedulers on a simulated deployment", "tdpipe-sim"};
    Deployment d;
    std::string profile, workload, predictor = "accuracy", which = "all";
    std::uint64_t seed = 1;
    int request_count = 5000;
    double rate = 0, accuracy = 0.8, predictor_us = 2.0;
    app.add_option("--model", d.model, "llama2-13b, llama2-34b or llama2-70b");
    app.add_option("--gpu", d.gpu, "h200, a100 or l20");
    app.add_option("--gpus", d.gpus, "GPUs (pipeline stages)")->check(CLI::Range(1, 64));
    app.add_option("--scheduler", which, "one scheduler, or all")
        ->check(CLI::IsMember({"all", "tdpipe", "vllm-pp", "vllm-chunked", "chunked", "tp"}));
    auto* requests_opt = app.add_option("--requests", request_count, "ShareGPT-like requests")
                             ->check(CLI::Range(1, 10000000));
    app.add_option("--seed", seed, "workload and prediction seed");
    app.add_option("--rate", rate, "requests per second (0: all at once)")
        ->check(CLI::Range(0.0, 1e9));
    app.add_option("--workload", workload, "a workload file instead")->excludes(requests_opt);
    app.add_option("--profile", profile, "measured stage costs (CSV)");
    auto* accuracy_opt = app.add_option("--accuracy", accuracy, "length predictor accuracy")
                             ->check(CLI::Range(0.0, 1.0));
    app.add_option("--predictor", predictor, "exact or none instead of --accuracy")
        ->check(CLI::IsMember({"exact", "none"}))
        ->excludes(accuracy_opt);
    app.add_option("--max-batch-seqs", d.max_batch_seqs, "sequences per batch")
        ->check(CLI::Range(1, 1 << 20));
    app.add_option("--max-batch-tokens", d.max_batch_tokens, "tokens per batch")
        ->check(CLI::Range(1, 1 << 20));
    app.add_option("--chunk-tokens", d.chunk_tokens, "prefill chunk")
        ->check(CLI::Range(1, 1 << 20));
    app.add_option("--kv-fraction", d.kv_fraction, "GPU memory for the KV cache")
        ->check(CLI::Range(0.01, 1.0));
    app.add_option("--predictor-us", predictor_us, "predictor time per request, microseconds")
        ->check(CLI::Range(0.0, 1e9));
    converge::cli::parse(app, argc, argv);

    if (!profile.empty()) {
      d.profile = profile;
      d.fit = fit_roofline(d.profile);
    }
    shape_named(d.model);
    gpu_named(d.gpu);
    std::vector<SimRequest> requests =
        !workload.empty() ? read_workload(workload) : sharegpt_like(request_count, seed, rate);
    std::vector<int> predicted;
    if (predictor == "exact")
      predicted = exact_predictions(requests);
    else if (predictor == "none")
      predicted.assign(requests.size(), 0);
    else
      predicted = bucket_predictions(requests, accuracy, seed);

    std::vector<std::string> schedulers{"tdpipe", "vllm-pp", "vllm-chunked", "chunked", "tp"};
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
      if (name == "tdpipe") setup.predictor_seconds = predictor_us * 1e-6;
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
    return 0;
  });
}
