// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/engine/generate.h"
#include "tdpipe/engine/kv_cache.h"
#include "tdpipe/engine/reference.h"
#include "tdpipe/engine/runner.h"
#include "tdpipe/engine/stage_model.h"
#include "tdpipe/model/llama2c.h"
#include "tdpipe/model/synthetic.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

using namespace tdpipe;

namespace {
// TD-Pipe's projection believes every request ends at once and may use
// every block, so with few blocks it admits too many and must preempt.
int predict_too_short(const Request&) {
  return 1;
}

RunnerOptions options(int blocks, int step_tokens) {
  RunnerOptions o;
  o.kv_blocks = blocks;
  o.step_tokens = step_tokens;
  return o;
}

ModelConfig shape() {
  // dim, hidden, layers, heads, kv heads, vocabulary, sequence length
  return ModelConfig{32, 40, 3, 4, 2, 60, 96};
}

std::vector<Request> mixed_requests(int n) {
  std::vector<Request> out;
  for (int i = 0; i < n; ++i) {
    Request r;
    for (int t = 0; t < 3 + (i * 7) % 20; ++t) r.prompt.push_back((i * 13 + t * 5) % 60);
    r.max_tokens = 5 + (i * 11) % 30;
    r.eos = i % 3 == 0 ? 7 : -1;
    if (i % 4 == 1) r.sampling = {0.9f, std::uint64_t(100 + i)};
    out.push_back(r);
  }
  return out;
}

}  // namespace

TEST(TdpipeKvCache, BlocksAreReservedReleasedAndAddressedPerPosition) {
  KvCache cache(shape(), 4, 0, 3);
  std::vector<int> a, b;
  EXPECT_TRUE(cache.reserve(a, 17));  // two blocks
  EXPECT_EQ(a.size(), 2u);
  EXPECT_EQ(cache.free_blocks(), 2);
  EXPECT_TRUE(cache.reserve(a, 32));  // still two
  EXPECT_EQ(cache.free_blocks(), 2);
  EXPECT_FALSE(cache.reserve(b, 3 * 16 + 1));  // four needed, two free: nothing taken
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(cache.free_blocks(), 2);
  EXPECT_TRUE(cache.reserve(b, 20));
  // Every (sequence, layer, position) has a slot of its own.
  std::set<float*> slots;
  for (auto* table : {&a, &b})
    for (int l = 0; l < 3; ++l)
      for (int p = 0; p < 20; ++p) EXPECT_TRUE(slots.insert(cache.key(*table, l, p)).second);
  EXPECT_THROW(cache.key(b, 0, 32), std::out_of_range);
  cache.release(a);
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(cache.free_blocks(), 2);
}

TEST(TdpipeEngine, BatchedChunksGiveTheReferenceLogitsBitForBit) {
  Weights w = synthetic_weights(shape(), 21);
  StageModel engine(w, 0, 3, 32);
  std::vector<int> s1{3, 9, 27, 21, 4}, s2{8, 1, 55};
  std::vector<int> t1, t2;
  ASSERT_TRUE(engine.cache().reserve(t1, 6));
  ASSERT_TRUE(engine.cache().reserve(t2, 4));
  // Step 1: both prompts prefilled in one batch.
  std::vector<Chunk> chunks{{&t1, 0, 5}, {&t2, 0, 3}};
  std::vector<int> tokens = s1;
  tokens.insert(tokens.end(), s2.begin(), s2.end());
  std::vector<float> x;
  engine.embed(tokens, x);
  engine.forward(chunks, x);
  auto logits = engine.logits(chunks, x);
  // Step 2: one decode token each.
  std::vector<Chunk> decode{{&t1, 5, 1}, {&t2, 3, 1}};
  engine.embed({11, 12}, x);
  engine.forward(decode, x);
  auto next = engine.logits(decode, x);

  ReferenceModel r1(w), r2(w);
  std::span<const float> l;
  for (int p = 0; p < 5; ++p) l = r1.forward(s1[p], p);
  for (int i = 0; i < 60; ++i) ASSERT_EQ(logits[i], l[i]) << i;
  for (int p = 0; p < 3; ++p) l = r2.forward(s2[p], p);
  for (int i = 0; i < 60; ++i) ASSERT_EQ(logits[60 + i], l[i]) << i;
  l = r1.forward(11, 5);
  for (int i = 0; i < 60; ++i) ASSERT_EQ(next[i], l[i]) << i;
  l = r2.forward(12, 3);
  for (int i = 0; i < 60; ++i) ASSERT_EQ(next[60 + i], l[i]) << i;
}

TEST(TdpipeRunner, EveryRequestGetsTheReferenceTokensUnderEverySchedulerEvenWhenPreempted) {
  Weights w = synthetic_weights(shape(), 33);
  auto requests = mixed_requests(14);
  std::vector<Completion> expected;
  for (const auto& r : requests) {
    ReferenceModel model(w);
    expected.push_back(generate(model, r));
  }
  for (const std::string& scheduler : scheduler_names()) {
    for (int blocks : {200, 12}) {  // plenty, then so few that sequences must be preempted
      SCOPED_TRACE(scheduler + ", " + std::to_string(blocks) + " blocks");
      Runner runner(w, {blocks, 64, scheduler, 256, 16, 1.0, predict_too_short});
      for (std::size_t i = 0; i < requests.size(); ++i) runner.submit(i, requests[i]);
      auto done = runner.run();
      ASSERT_EQ(done.size(), requests.size());
      for (std::size_t i = 0; i < requests.size(); ++i) {
        EXPECT_EQ(done[i].tokens, expected[i].tokens)
            << scheduler << ", request " << i << ", " << blocks << " blocks";
        EXPECT_EQ(done[i].finish_reason, expected[i].finish_reason) << scheduler << " " << i;
      }
      if (blocks == 12)
        EXPECT_GT(runner.stats().preemptions, 0u) << scheduler;
      else
        EXPECT_EQ(runner.stats().preemptions, 0u) << scheduler;
    }
  }
}

TEST(TdpipeRunner, RequestsThatCanNeverFitAreRefused) {
  Weights w = synthetic_weights(shape(), 1);
  Runner runner(w, options(2, 64));
  Request r;
  r.prompt = {1, 2, 3};
  r.max_tokens = 60;  // 63 positions: 4 blocks
  EXPECT_THROW(runner.submit(1, r), std::invalid_argument);
  r.max_tokens = 20;
  runner.submit(2, r);
  EXPECT_EQ(runner.run().at(2).tokens.size(), 20u);
}

TEST(TdpipeRunner, Stories260KBatchedMatchesItsReference) {
  std::string path = std::string(TDPIPE_MODELS_DIR) + "/stories260K.bin";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is not on this machine";
  Weights w = load_llama2c(path);
  std::vector<Request> requests;
  for (int i = 0; i < 6; ++i) {
    Request r;
    r.prompt = {1, 300 + i * 17, 400 + i};
    r.max_tokens = 40 + i * 10;
    r.eos = 1;
    requests.push_back(r);
  }
  Runner runner(w, options(20, 128));
  for (std::size_t i = 0; i < requests.size(); ++i) runner.submit(i, requests[i]);
  auto done = runner.run();
  for (std::size_t i = 0; i < requests.size(); ++i) {
    ReferenceModel model(w);
    EXPECT_EQ(done[i].tokens, generate(model, requests[i]).tokens) << i;
  }
}
