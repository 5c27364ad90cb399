// SPDX-License-Identifier: GPL-2.0-or-later
//
// tdpipe-bench: single-stage decode throughput of the batched engine,
// beside the reference decoder's in the same run.
//   tdpipe-bench --model FILE [--batches 1,32] [--steps 32] [--context 32] [--rounds 3]
// For each batch size B, B sequences are prefilled with `context` tokens
// (not timed), then `steps` decode steps each feed one token per sequence;
// tokens/s = B * steps / seconds, the median of `rounds`. The reference
// decodes one sequence the same way. OMP_NUM_THREADS sets the engine's
// threads.
#include "tdpipe/engine/reference.h"
#include "tdpipe/engine/stage_model.h"
#include "tdpipe/model/llama2c.h"

#include "converge/cli.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double engine_rate(const tdpipe::Weights& w, int batch, int context, int steps) {
  const auto& c = w.config;
  tdpipe::StageModel engine(w, 0, c.n_layers, batch * tdpipe::blocks_for(context + steps));
  std::vector<std::vector<int>> tables(batch);
  std::vector<tdpipe::Chunk> prefill;
  std::vector<int> tokens;
  for (int b = 0; b < batch; ++b) {
    engine.cache().reserve(tables[b], context + steps);
    prefill.push_back({&tables[b], 0, context});
    for (int t = 0; t < context; ++t) tokens.push_back((b * 31 + t * 7) % c.vocab_size);
  }
  std::vector<float> x;
  engine.embed(tokens, x);
  engine.forward(prefill, x);
  auto start = Clock::now();
  for (int s = 0; s < steps; ++s) {
    std::vector<tdpipe::Chunk> decode;
    std::vector<int> next;
    for (int b = 0; b < batch; ++b) {
      decode.push_back({&tables[b], context + s, 1});
      next.push_back((b + s) % c.vocab_size);
    }
    engine.embed(next, x);
    engine.forward(decode, x);
    engine.logits(decode, x);
  }
  return batch * steps / std::chrono::duration<double>(Clock::now() - start).count();
}

double reference_rate(const tdpipe::Weights& w, int context, int steps) {
  tdpipe::ReferenceModel model(w);
  for (int t = 0; t < context; ++t) model.forward((t * 7) % w.config.vocab_size, t);
  auto start = Clock::now();
  for (int s = 0; s < steps; ++s) model.forward(s % w.config.vocab_size, context + s);
  return steps / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  return converge::cli::run("tdpipe-bench", [&] {
    CLI::App app{"The batched engine against the reference model, tokens per second",
                 "tdpipe-bench"};
    std::string model_file;
    std::vector<int> batches{1, 32};
    int steps = 32, context = 32, rounds = 3;
    app.add_option("--model", model_file, "llama2.c checkpoint")->required();
    app.add_option("--batches", batches, "batch sizes 1,32,...")
        ->delimiter(',')
        ->check(CLI::Range(1, 1 << 16));
    app.add_option("--steps", steps, "decode steps")->check(CLI::Range(1, 1 << 16));
    app.add_option("--context", context, "tokens before the steps")->check(CLI::Range(1, 1 << 16));
    app.add_option("--rounds", rounds, "rounds (the median is reported)")
        ->check(CLI::Range(1, 100));
    converge::cli::parse(app, argc, argv);
    tdpipe::Weights w = tdpipe::load_llama2c(model_file);
    if (context + steps > w.config.seq_len)
      throw std::invalid_argument("--context + --steps exceed the model's sequence length");
    std::printf(
        "model %s: %llu parameters, dim %d, %d layers; %d threads; context %d, %d steps, "
        "median of %d\n",
        model_file.c_str(), static_cast<unsigned long long>(w.config.parameters()), w.config.dim,
        w.config.n_layers, omp_get_max_threads(), context, steps, rounds);
    std::vector<double> ref;
    ref.reserve(static_cast<std::size_t>(rounds));
    for (int r = 0; r < rounds; ++r) ref.push_back(reference_rate(w, context, steps));
    double baseline = median(ref);
    std::printf("%-28s %12.1f tokens/s\n", "reference, 1 sequence", baseline);
    for (int b : batches) {
      std::vector<double> rates;
      rates.reserve(static_cast<std::size_t>(rounds));
      for (int r = 0; r < rounds; ++r) rates.push_back(engine_rate(w, b, context, steps));
      double rate = median(rates);
      std::printf("engine, batch %-14d %12.1f tokens/s  (%.2fx the reference)\n", b, rate,
                  rate / baseline);
    }
    return 0;
  });
}
