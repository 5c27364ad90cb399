// SPDX-License-Identifier: GPL-2.0-or-later
//
// tdpipe-predictor: the output-length predictor's data, training and use.
//   tdpipe-predictor collect --model FILE --requests N [--seed S] --out DATA
//     Samples N stories from the model (from BOS, temperature 1), cuts each
//     at a random point into a prompt, and runs the prompts through the
//     model with a random temperature in {0, 0.5, 0.8, 1}, recording how
//     many tokens it produced before the end of sequence.
//   tdpipe-predictor train --data DATA --out PREDICTOR [--holdout 0.2] [--seed S]
//     Trains on all but the held-out fraction and reports the accuracy on it
//     beside always guessing the most common bucket.
//   tdpipe-predictor predict --predictor PREDICTOR --prompt-ids 1,2,... [--temperature T]
#include "engine/runner.h"
#include "model/llama2c.h"
#include "predict/length_buckets.h"
#include "predict/length_predictor.h"
#include "tools/options.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace tdpipe;

namespace {

std::map<std::uint64_t, Completion> run_all(const Weights& w,
                                            const std::vector<Request>& requests) {
  RunnerOptions options;
  options.kv_blocks = 64 * blocks_for(w.config.seq_len);
  options.step_tokens = 2048;
  options.max_batch_seqs = 64;
  Runner runner(w, options);
  for (std::size_t i = 0; i < requests.size(); ++i) runner.submit(i, requests[i]);
  return runner.run();
}

int collect(const Options& o) {
  Weights w = load_llama2c(o.text("model"));
  const int n = int(o.number("requests", 1000, 1, 1000000));
  const unsigned seed = unsigned(o.number("seed", 1, 0, 1L << 31));
  const int bos = 1, limit = w.config.seq_len;
  std::mt19937 rng(seed);
  std::vector<Request> stories;
  for (int i = 0; i < n; ++i) {
    Request r;
    r.prompt = {bos};
    r.max_tokens = limit - 1;
    r.eos = bos;
    r.sampling = {1.0f, std::uint64_t(seed) * 1000003u + std::uint64_t(i)};
    stories.push_back(r);
  }
  auto started = std::chrono::steady_clock::now();
  auto told = run_all(w, stories);
  const float temperatures[] = {0.0f, 0.5f, 0.8f, 1.0f};
  std::vector<Request> prompts;
  for (int i = 0; i < n; ++i) {
    const auto& story = told[std::uint64_t(i)].tokens;
    int cut = int(std::uniform_int_distribution<int>(0, std::max(0, int(story.size()) - 1))(rng));
    Request r;
    r.prompt = {bos};
    r.prompt.insert(r.prompt.end(), story.begin(), story.begin() + cut);
    r.max_tokens = limit - int(r.prompt.size());
    r.eos = bos;
    r.sampling = {temperatures[rng() % 4], rng()};
    prompts.push_back(r);
  }
  auto produced = run_all(w, prompts);
  std::vector<LengthExample> examples;
  for (int i = 0; i < n; ++i)
    examples.push_back({prompts[std::size_t(i)], int(produced[std::uint64_t(i)].tokens.size())});
  write_examples(o.text("out"), examples);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::fprintf(stderr, "tdpipe-predictor: %d examples in %.1f s\n", n, seconds);
  return 0;
}

int train(const Options& o) {
  std::vector<LengthExample> all = read_examples(o.text("data"));
  const double holdout = o.real("holdout", 0.2);
  if (!(holdout > 0 && holdout < 1)) throw std::invalid_argument("--holdout must be in (0, 1)");
  std::mt19937 rng(unsigned(o.number("seed", 1, 0, 1L << 31)));
  std::shuffle(all.begin(), all.end(), rng);
  const std::size_t test = std::max<std::size_t>(1, std::size_t(double(all.size()) * holdout));
  if (test >= all.size()) throw std::invalid_argument("too few examples to hold some out");
  std::vector<LengthExample> held(all.begin(), all.begin() + long(test));
  std::vector<LengthExample> training(all.begin() + long(test), all.end());
  LengthPredictor p = LengthPredictor::train(training);
  p.save(o.text("out"));
  // The baseline: always the most common bucket of the training data.
  std::map<int, int> counts;
  for (const auto& e : training) ++counts[bucket_of(e.produced)];
  int common = std::max_element(counts.begin(), counts.end(), [](auto a, auto b) {
                 return a.second < b.second;
               })->first;
  int right = 0;
  for (const auto& e : held) right += bucket_of(e.produced) == common;
  auto start = std::chrono::steady_clock::now();
  double accuracy = p.accuracy(held);
  double per_request =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
      double(held.size());
  std::printf(
      "trained on %zu, held out %zu: accuracy %.3f (most common bucket: %.3f); %.1f us per "
      "prediction\n",
      training.size(), held.size(), accuracy, double(right) / double(held.size()),
      per_request * 1e6);
  return 0;
}

int predict(const Options& o) {
  LengthPredictor p = LengthPredictor::load(o.text("predictor"));
  Request r;
  r.prompt = o.ids("prompt-ids");
  r.sampling.temperature = float(o.real("temperature", 0.0));
  int b = p.predict_bucket(r);
  std::printf("bucket %d: at most %d tokens\n", b, bucket_limit(b));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 2 || std::string(argv[1]) == "--help") {
      std::puts(
          "usage: tdpipe-predictor collect --model FILE --requests N [--seed S] --out DATA\n"
          "       tdpipe-predictor train --data DATA --out PREDICTOR [--holdout F] [--seed S]\n"
          "       tdpipe-predictor predict --predictor PREDICTOR --prompt-ids 1,2,... "
          "[--temperature T]");
      return argc < 2 ? 1 : 0;
    }
    std::string command = argv[1];
    Options o(argc - 1, argv + 1, {});
    if (command == "collect") return collect(o);
    if (command == "train") return train(o);
    if (command == "predict") return predict(o);
    throw std::invalid_argument("unknown command \"" + command + "\" (collect, train, predict)");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tdpipe-predictor: %s\n", e.what());
    return 1;
  }
}
