// SPDX-License-Identifier: GPL-2.0-or-later
//
// tdpipe-pipeline-bench: the real engine as a pipeline of MPI ranks, each
// scheduler on the same requests in the same run.
//   mpiexec -n P tdpipe-pipeline-bench --model FILE [--requests 64] [--rounds 3]
//       [--schedulers tdpipe,vllm-pp,vllm-chunked,chunked,continuous] [--prompt-median 96]
//       [--output-median 64] [--seed 1] [--max-batch-seqs 32] [--step-tokens 512]
//       [--chunk-tokens 128] [--kv-blocks N]
// The requests are ShareGPT-like (log-normal prompt and output lengths
// around the medians, within the model's sequence length), all at once,
// each generating exactly its output length (ignore EOS, as throughput
// benchmarks do). Prints the median time and tokens/s of each scheduler and
// TD-Pipe's ratio to each.
#include "tdpipe/engine/kv_cache.h"
#include "tdpipe/model/llama2c.h"
#include "tdpipe/pipeline/pipeline_runner.h"
#include "tdpipe/sim/workload.h"

#include "converge/cli.h"
#include "converge/log.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

using namespace tdpipe;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  converge::log::set_program_name("tdpipe-pipeline-bench");
  MPI_Init(&argc, &argv);
  int rank = 0, stages = 1, status = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &stages);
  try {
    CLI::App app{"The schedulers on real pipeline stages (MPI ranks), tokens per second",
                 "tdpipe-pipeline-bench"};
    std::string model_file;
    int requests = 64, rounds = 3, prompt_median = 96, output_median = 64, kv_blocks = 0;
    std::uint64_t seed = 1;
    std::vector<std::string> schedulers{"tdpipe", "vllm-pp", "vllm-chunked", "chunked"};
    RunnerOptions base;
    base.max_batch_seqs = 32;
    base.step_tokens = 512;
    base.chunk_tokens = 128;
    app.add_option("--model", model_file, "llama2.c checkpoint")->required();
    app.add_option("--requests", requests, "requests")->check(CLI::Range(1, 100000));
    app.add_option("--rounds", rounds, "rounds (the median is reported)")
        ->check(CLI::Range(1, 100));
    app.add_option("--prompt-median", prompt_median, "median prompt tokens")
        ->check(CLI::Range(1, 1 << 20));
    app.add_option("--output-median", output_median, "median output tokens")
        ->check(CLI::Range(1, 1 << 20));
    app.add_option("--seed", seed, "workload seed");
    app.add_option("--schedulers", schedulers, "schedulers to compare")
        ->delimiter(',')
        ->check(CLI::IsMember({"tdpipe", "vllm-pp", "vllm-chunked", "chunked", "continuous"}));
    app.add_option("--max-batch-seqs", base.max_batch_seqs, "sequences per batch")
        ->check(CLI::Range(1, 1 << 16));
    app.add_option("--step-tokens", base.step_tokens, "tokens per micro-batch")
        ->check(CLI::Range(1, 1 << 20));
    app.add_option("--chunk-tokens", base.chunk_tokens, "prefill chunk")
        ->check(CLI::Range(1, 1 << 20));
    auto* kv_opt =
        app.add_option("--kv-blocks", kv_blocks, "KV-cache blocks (default: room for all)")
            ->check(CLI::Range(1, 1 << 24));
    converge::cli::parse(app, argc, argv, rank == 0);

    Weights w = load_llama2c(model_file);
    const int seq_len = w.config.seq_len;
    if (prompt_median > seq_len || output_median > seq_len)
      throw std::invalid_argument("--prompt-median and --output-median: at most the model's " +
                                  std::to_string(seq_len) + " tokens");
    sim::WorkloadShape shape;
    shape.prompt_mu = std::log(double(prompt_median));
    shape.output_mu = std::log(double(output_median));
    shape.max_prompt = seq_len / 2;
    shape.max_output = seq_len / 2;
    shape.max_total = seq_len;
    auto workload = sim::sharegpt_like(requests, seed, 0, shape);
    // Default: room for every request at once, in every virtual engine's share too.
    base.kv_blocks = *kv_opt ? kv_blocks : stages * requests * blocks_for(seq_len);
    long prompt_tokens = 0, output_tokens = 0;
    std::vector<Request> batch;
    for (const auto& q : workload) {
      Request r;
      r.prompt.push_back(1);
      for (int t = 1; t < q.prompt; ++t)
        r.prompt.push_back(2 + int((q.id * 7919 + std::uint64_t(t) * 104729) %
                                   std::uint64_t(w.config.vocab_size - 2)));
      r.max_tokens = q.output;
      r.ignore_eos = true;
      prompt_tokens += q.prompt;
      output_tokens += q.output;
      batch.push_back(r);
    }
    std::map<std::string, std::vector<double>> seconds;
    std::map<std::string, SchedulerStats> stats;
    for (int round = 0; round < rounds; ++round) {
      for (const std::string& name : schedulers) {
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank != 0) {
          serve_stage(w, MPI_COMM_WORLD, base.kv_blocks);
          continue;
        }
        RunnerOptions options = base;
        options.scheduler = name;
        auto start = std::chrono::steady_clock::now();
        {
          PipelineRunner runner(w, MPI_COMM_WORLD, options);
          for (std::size_t i = 0; i < batch.size(); ++i) runner.submit(i, batch[i]);
          runner.run();
          stats[name] = runner.stats();
        }
        seconds[name].push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
    }
    if (rank == 0) {
      std::printf("%d stages, %d requests (%ld prompt, %ld output tokens), median of %d rounds\n",
                  stages, requests, prompt_tokens, output_tokens, rounds);
      std::printf("%-11s %9s %12s %12s %9s %9s %9s %10s\n", "scheduler", "seconds", "out tok/s",
                  "total tok/s", "batches", "switches", "preempt", "tdpipe/x");
      const double td = seconds.count("tdpipe") ? median(seconds["tdpipe"]) : 0;
      for (const std::string& name : schedulers) {
        double t = median(seconds[name]);
        std::printf("%-11s %9.3f %12.1f %12.1f %9llu %9llu %9llu %9.2fx\n", name.c_str(), t,
                    output_tokens / t, (prompt_tokens + output_tokens) / t,
                    (unsigned long long)stats[name].batches,
                    (unsigned long long)stats[name].phase_switches,
                    (unsigned long long)stats[name].preemptions, td > 0 ? t / td : 0.0);
      }
    }
  } catch (const CLI::ParseError& e) {
    status = converge::cli::exit_code(e);  // every rank parsed the same arguments
  } catch (const std::exception& e) {
    if (rank == 0) converge::log::error("{}", e.what());
    status = 1;
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Finalize();
  return status;
}
