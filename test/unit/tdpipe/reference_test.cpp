// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/engine/generate.h"
#include "tdpipe/engine/reference.h"
#include "tdpipe/engine/sampler.h"
#include "tdpipe/model/llama2c.h"
#include "tdpipe/model/synthetic.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

using namespace tdpipe;
namespace fs = std::filesystem;

namespace {

ModelConfig small(int heads = 4, int kv_heads = 2) {
  ModelConfig c;
  c.dim = 32;
  c.hidden_dim = 48;
  c.n_layers = 2;
  c.n_heads = heads;
  c.n_kv_heads = kv_heads;
  c.vocab_size = 50;
  c.seq_len = 64;
  return c;
}

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("tdpipe-" + std::to_string(getpid()) + "-" + name)).string();
}

const std::string kStories = std::string(TDPIPE_MODELS_DIR) + "/stories260K.bin";

}  // namespace

TEST(TdpipeCheckpoint, SyntheticModelsRoundTripThroughTheLlama2cFormat) {
  for (bool shared : {true, false}) {
    ModelConfig c = small();
    c.shared_classifier = shared;
    Weights w = synthetic_weights(c, 7);
    std::string path = temp_path("roundtrip.bin");
    save_llama2c(w, path);
    Weights back = load_llama2c(path);
    EXPECT_EQ(back.config.dim, c.dim);
    EXPECT_EQ(back.config.shared_classifier, shared);
    EXPECT_EQ(back.token_embedding, w.token_embedding);
    EXPECT_EQ(back.layers[1].w2, w.layers[1].w2);
    EXPECT_EQ(back.final_norm, w.final_norm);
    EXPECT_EQ(back.classifier, w.classifier);
    EXPECT_EQ(fs::file_size(path),
              28 + 4 * (c.parameters() + std::uint64_t(c.seq_len) * c.head_size()));
    fs::remove(path);
  }
  // The same seed, the same weights; another seed, others.
  EXPECT_EQ(synthetic_weights(small(), 3).layers[0].wq, synthetic_weights(small(), 3).layers[0].wq);
  EXPECT_NE(synthetic_weights(small(), 3).layers[0].wq, synthetic_weights(small(), 4).layers[0].wq);
}

TEST(TdpipeCheckpoint, BadFilesAreRefusedWithTheReason) {
  std::string path = temp_path("bad.bin");
  save_llama2c(synthetic_weights(small(), 1), path);
  fs::resize_file(path, fs::file_size(path) - 4);
  try {
    load_llama2c(path);
    ADD_FAILURE() << "a short file was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("but its header (dim 32, 2 layers) needs"),
              std::string::npos)
        << e.what();
  }
  std::ofstream(path) << "this is not a model at all, just some text";
  EXPECT_THROW(load_llama2c(path), std::runtime_error);
  fs::remove(path);
  EXPECT_THROW(load_llama2c(path), std::runtime_error);  // missing
  ModelConfig odd = small();
  odd.n_kv_heads = 3;
  EXPECT_NE(odd.problem(), "");
  EXPECT_THROW(Weights::zeros(odd), std::invalid_argument);
}

TEST(TdpipeReference, GroupedQueryAttentionEqualsHeadsWithCopiedKeysAndValues) {
  // 4 query heads sharing 2 kv heads == 4 kv heads where heads 0,1 and 2,3
  // carry the same key/value weights.
  Weights grouped = synthetic_weights(small(4, 2), 11);
  Weights full = Weights::zeros(small(4, 4));
  full.token_embedding = grouped.token_embedding;
  full.final_norm = grouped.final_norm;
  int hs = small().head_size(), dim = small().dim;
  for (int l = 0; l < 2; ++l) {
    auto& g = grouped.layers[l];
    auto& f = full.layers[l];
    f = g;
    f.wk.assign(std::size_t(4 * hs) * dim, 0.0f);
    f.wv.assign(f.wk.size(), 0.0f);
    for (int h = 0; h < 4; ++h)
      for (int r = 0; r < hs; ++r)
        for (int c = 0; c < dim; ++c) {
          f.wk[(h * hs + r) * dim + c] = g.wk[((h / 2) * hs + r) * dim + c];
          f.wv[(h * hs + r) * dim + c] = g.wv[((h / 2) * hs + r) * dim + c];
        }
  }
  ReferenceModel a(grouped), b(full);
  for (int pos = 0; pos < 12; ++pos) {
    int token = (pos * 7 + 3) % 50;
    auto la = a.forward(token, pos);
    std::vector<float> first(la.begin(), la.end());
    auto lb = b.forward(token, pos);
    for (int i = 0; i < 50; ++i) ASSERT_NEAR(first[i], lb[i], 1e-4) << pos << " " << i;
  }
}

TEST(TdpipeReference, Stories260KContinuesBosAsAnIndependentImplementationDoes) {
  if (!fs::exists(kStories)) GTEST_SKIP() << kStories << " is not on this machine";
  Weights w = load_llama2c(kStories);
  EXPECT_EQ(w.config.dim, 64);
  EXPECT_EQ(w.config.n_kv_heads, 4);
  ReferenceModel model(w);
  Request r;
  r.prompt = {1};
  r.max_tokens = 40;
  r.eos = -1;
  // From tdpipe/tools/reference_check.py: the forward pass in numpy, float64.
  std::vector<int> expected{461, 461, 401, 401, 401, 461, 378, 455, 473, 456, 435, 299, 362, 409,
                            283, 264, 283, 452, 288, 13,  431, 431, 431, 431, 431, 431, 431, 431,
                            431, 431, 431, 431, 431, 293, 430, 417, 363, 416, 315, 342};
  Completion c = generate(model, r);
  EXPECT_EQ(c.tokens, expected);
  EXPECT_EQ(c.finish_reason, "length");
}

TEST(TdpipeGenerate, StopsAtEosUnlessToldToRunOnAndAtTheLimits) {
  Weights w = synthetic_weights(small(), 5);
  ReferenceModel model(w);
  Request r;
  r.prompt = {1, 2, 3};
  r.max_tokens = 10;
  Completion free_run = generate(model, r);
  ASSERT_EQ(free_run.tokens.size(), 10u);
  EXPECT_EQ(free_run.finish_reason, "length");
  ReferenceModel again(w);
  r.eos = free_run.tokens[3];  // stop where the fourth token would come
  Completion stopped = generate(again, r);
  auto first = std::find(free_run.tokens.begin(), free_run.tokens.end(), r.eos);
  EXPECT_EQ(stopped.tokens, std::vector<int>(free_run.tokens.begin(), first));
  EXPECT_EQ(stopped.finish_reason, "stop");
  ReferenceModel third(w);
  r.ignore_eos = true;
  EXPECT_EQ(generate(third, r).tokens, free_run.tokens);
  // The model's sequence length bounds everything.
  ReferenceModel fourth(w);
  r.max_tokens = 1000;
  EXPECT_EQ(generate(fourth, r).tokens.size(), std::size_t(64 - 3));
  r.prompt = {};
  EXPECT_THROW(generate(fourth, r), std::invalid_argument);
  r.prompt = {50};
  EXPECT_THROW(generate(fourth, r), std::invalid_argument);
  r.prompt = std::vector<int>(64, 1);
  EXPECT_THROW(generate(fourth, r), std::invalid_argument);
}

TEST(TdpipeSampler, GreedyTakesTheLargestAndSamplingFollowsTheDistribution) {
  std::vector<float> logits{0.0f, std::log(3.0f), -1e9f};
  Sampler greedy({0.0f, 1});
  EXPECT_EQ(greedy.next(logits), 1);
  EXPECT_EQ(argmax(std::vector<float>{2, 5, 5}), 1);  // ties: the lowest id
  Sampler sampled({1.0f, 42});
  std::map<int, int> counts;
  for (int i = 0; i < 20000; ++i) ++counts[sampled.next(logits)];
  EXPECT_EQ(counts[2], 0);
  EXPECT_NEAR(counts[1] / 20000.0, 0.75, 0.02);
  // Seeds reproduce; different seeds differ.
  auto run = [&](std::uint64_t seed) {
    Sampler s({0.8f, seed});
    std::vector<int> out;
    for (int i = 0; i < 50; ++i) out.push_back(s.next(logits));
    return out;
  };
  EXPECT_EQ(run(9), run(9));
  EXPECT_NE(run(9), run(10));
  EXPECT_THROW(Sampler({-1.0f, 1}), std::invalid_argument);
}
