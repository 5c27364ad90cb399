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
#include "tdpipe/engine/runner.h"
#include "tdpipe/model/llama2c.h"
#include "tdpipe/predict/length_buckets.h"
#include "tdpipe/predict/length_predictor.h"

#include "converge/cli.h"
#include "converge/log.h"

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

struct Args {
  std::string command, model, out, data, predictor;
  int requests = 1000;
  unsigned seed = 1;
  double holdout = 0.2, temperature = 0.0;
  std::vector<int> prompt_ids;
};

void declare(CLI::App& app, Args& a) {
  app.require_subcommand(1);
  auto named = [&](CLI::App* c) {
    c->callback([&a, c] { a.command = c->get_name(); });
    return c;
  };
  auto* collect = named(app.add_subcommand("collect", "stories and their lengths from a model"));
  collect->add_option("--model", a.model, "llama2.c checkpoint")->required();
  collect->add_option("--requests", a.requests, "stories")->check(CLI::Range(1, 1000000));
  collect->add_option("--seed", a.seed, "seed")->check(CLI::Range(0u, (1u << 31) - 1));
  collect->add_option("--out", a.out, "the examples file")->required();
  auto* train = named(app.add_subcommand("train", "a length predictor from examples"));
  train->add_option("--data", a.data, "the examples file")->required();
  train->add_option("--out", a.out, "the predictor file")->required();
  train->add_option("--holdout", a.holdout, "share held out for testing")
      ->check(CLI::Range(0.001, 0.999));
  train->add_option("--seed", a.seed, "seed")->check(CLI::Range(0u, (1u << 31) - 1));
  auto* predict = named(app.add_subcommand("predict", "one prompt's length bucket"));
  predict->add_option("--predictor", a.predictor, "the predictor file")->required();
  predict->add_option("--prompt-ids", a.prompt_ids, "token ids 1,2,...")
      ->required()
      ->delimiter(',');
  predict->add_option("--temperature", a.temperature, "sampling temperature")
      ->check(CLI::Range(0.0, 100.0));
}

int collect(const Args& o) {
  Weights w = load_llama2c(o.model);
  const int n = o.requests;
  const unsigned seed = o.seed;
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
  examples.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    examples.push_back({prompts[std::size_t(i)], int(produced[std::uint64_t(i)].tokens.size())});
  write_examples(o.out, examples);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  converge::log::info("{} examples in {:.1f} s", n, seconds);
  return 0;
}

int train(const Args& o) {
  std::vector<LengthExample> all = read_examples(o.data);
  const double holdout = o.holdout;
  std::mt19937 rng(o.seed);
  std::shuffle(all.begin(), all.end(), rng);
  const std::size_t test = std::max<std::size_t>(1, std::size_t(double(all.size()) * holdout));
  if (test >= all.size()) throw std::invalid_argument("too few examples to hold some out");
  std::vector<LengthExample> held(all.begin(), all.begin() + long(test));
  std::vector<LengthExample> training(all.begin() + long(test), all.end());
  LengthPredictor p = LengthPredictor::train(training);
  p.save(o.out);
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

int predict(const Args& o) {
  LengthPredictor p = LengthPredictor::load(o.predictor);
  Request r;
  r.prompt = o.prompt_ids;
  r.sampling.temperature = float(o.temperature);
  int b = p.predict_bucket(r);
  std::printf("bucket %d: at most %d tokens\n", b, bucket_limit(b));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  converge::log::set_program_name("tdpipe-predictor");
  return converge::cli::run("tdpipe-predictor", [&] {
    CLI::App app{"TD-Pipe's output-length predictor: collect examples, train, predict",
                 "tdpipe-predictor"};
    Args a;
    declare(app, a);
    converge::cli::parse(app, argc, argv);
    if (a.command == "collect") return collect(a);
    if (a.command == "train") return train(a);
    return predict(a);
  });
}
