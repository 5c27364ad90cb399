// SPDX-License-Identifier: GPL-2.0-or-later
//
// The scheduling policies and the simulator on small cases worked out by
// hand (the numbers in the comments).
#include "tdpipe/sched/policies.h"
#include "tdpipe/sim/cost_model.h"
#include "tdpipe/sim/simulator.h"
#include "tdpipe/sim/workload.h"

#include <gtest/gtest.h>

#include <memory>

using namespace tdpipe;
using namespace tdpipe::sim;

namespace {

SeqState request(std::uint64_t id, int prompt, int max_tokens, int predicted = 0) {
  SeqState s;
  s.id = id;
  s.prompt = prompt;
  s.limit = prompt + max_tokens;
  s.predicted = predicted;
  return s;
}

std::vector<std::uint64_t> ids(const Plan& p) {
  std::vector<std::uint64_t> out;
  for (const auto& c : p.chunks) out.push_back(c.seq->id);
  return out;
}

// Every chunk's sequence goes on (no sequence ends).
std::vector<bool> none_ended(const Plan& p) {
  return std::vector<bool>(p.chunks.size(), false);
}

// fixed + per_token x tokens seconds, whatever the kind of token.
class LinearCost : public StageCost, public LayerCost {
 public:
  LinearCost(double fixed, double per_token) : fixed_(fixed), per_token_(per_token) {}
  double seconds(const BatchShape& s) const override {
    return fixed_ + per_token_ * (s.prefill_tokens + s.decode_tokens);
  }

 private:
  double fixed_, per_token_;
};

SchedulerConfig config(int stages, int blocks) {
  SchedulerConfig c;
  c.stages = stages;
  c.kv_blocks = blocks;
  return c;
}

}  // namespace

TEST(TdpipeScheduler, GreedyPrefillAdmitsWhileTheProjectedUsageFits) {
  // Prompt 16, predicted 40 more tokens: at 0, 16 and 32 steps ahead it
  // holds 1, 2 and 3 blocks, and nothing from 64 on. 0.9 x 10 blocks = 9:
  // three requests fit (3 x 3), a fourth would not (12).
  TdpipeScheduler s(config(1, 10));
  for (std::uint64_t i = 0; i < 5; ++i) s.add(request(i, 16, 64, 40));
  EXPECT_EQ(TdpipeScheduler::projected_blocks(request(0, 16, 64, 40), 32), 3);
  EXPECT_EQ(TdpipeScheduler::projected_blocks(request(0, 16, 64, 40), 64), 0);
  auto p = s.next();
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->prefill);
  EXPECT_EQ(ids(*p), (std::vector<std::uint64_t>{0, 1, 2}));
  s.complete(*p, none_ended(*p));
  // The projection is full: the phase turns to decode, all three at once.
  p = s.next();
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->prefill);
  EXPECT_EQ(ids(*p), (std::vector<std::uint64_t>{0, 1, 2}));
  EXPECT_EQ(s.waiting(), 2u);
}

TEST(TdpipeScheduler, DecodeMicroBatchesStealWorkToStayEqual) {
  // 2 stages, 8 sequences: micro-batches of ceil(8/2) = 4. When two of the
  // first end, 6 remain (3 per micro-batch): the next takes the 2 that
  // came back, then 3 of the other 4, then the 1 left over and the 2 back.
  SchedulerConfig c = config(2, 100);
  c.max_batch_tokens = 16;
  TdpipeScheduler s(c);
  for (std::uint64_t i = 0; i < 8; ++i) s.add(request(i, 4, 50));
  auto p1 = s.next(), p2 = s.next();  // two prefill micro-batches of 4
  ASSERT_TRUE(p1 && p2);
  EXPECT_EQ(p1->chunks.size(), 4u);
  EXPECT_EQ(p2->chunks.size(), 4u);
  EXPECT_FALSE(s.next());  // both stages busy with them
  s.complete(*p1, none_ended(*p1));
  auto a = s.next();
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->prefill);
  EXPECT_EQ(a->chunks.size(), 4u);
  s.complete(*p2, none_ended(*p2));
  auto b = s.next();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->chunks.size(), 4u);
  s.complete(*a, {true, true, false, false});
  auto c1 = s.next();
  ASSERT_TRUE(c1);
  EXPECT_EQ(c1->chunks.size(), 2u);  // only a's two survivors are ready
  s.complete(*b, none_ended(*b));
  auto d = s.next();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->chunks.size(), 3u);  // 3 of b's 4
  s.complete(*c1, none_ended(*c1));
  auto e = s.next();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->chunks.size(), 3u);  // b's leftover and c's two
}

TEST(TdpipeScheduler, SwitchesToPrefillOnlyWhenTheShrunkenBatchIsWorthTheBubble) {
  // Stage cost 1 s + 0.01 s per token, 2 stages. Running A and B decode
  // one per micro-batch (intensity 1/1.01 = 0.990); with C and D admitted
  // it would be two (2/1.02 = 1.961). The bubble: 1.01 + 1.2 = 2.21 s.
  // Net of it over a decode phase of D seconds: 1.961 D / (D + 2.21),
  // above 0.990 once D > 2.256: after three decode micro-batches (3.03 s),
  // not after two (2.02 s).
  LinearCost cost(1.0, 0.01);
  SchedulerConfig c = config(2, 100);
  c.cost = &cost;
  TdpipeScheduler s(c);
  s.add(request(0, 4, 100, 100));
  s.add(request(1, 4, 100, 100));
  auto prefill = s.next();
  ASSERT_TRUE(prefill && prefill->prefill);
  s.complete(*prefill, none_ended(*prefill));
  auto d1 = s.next(), d2 = s.next();  // decode phase: A, then B
  ASSERT_TRUE(d1 && d2);
  EXPECT_EQ(ids(*d1), std::vector<std::uint64_t>{0});
  EXPECT_EQ(ids(*d2), std::vector<std::uint64_t>{1});
  s.add(request(2, 10, 100, 100));
  s.add(request(3, 10, 100, 100));
  s.complete(*d1, none_ended(*d1));
  auto d3 = s.next();  // 2.02 s of decode: stays
  ASSERT_TRUE(d3);
  EXPECT_FALSE(d3->prefill);
  EXPECT_EQ(s.stats().phase_switches, 0u);
  s.complete(*d2, none_ended(*d2));
  auto p = s.next();  // 3.03 s: switches
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->prefill);
  EXPECT_EQ(ids(*p), (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(s.stats().phase_switches, 1u);
}

TEST(VllmPipelineScheduler, VirtualEnginesTakeTurnsWithTheirOwnShareAndPrefillFirst) {
  VllmPipelineScheduler s(config(2, 20));
  EXPECT_EQ(s.free_blocks(0), 10);
  EXPECT_EQ(s.free_blocks(1), 10);
  for (std::uint64_t i = 0; i < 4; ++i) s.add(request(i, 8, 8));  // engines 0, 1, 0, 1
  auto a = s.next(), b = s.next();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->pool, 0);
  EXPECT_TRUE(a->prefill);
  EXPECT_EQ(ids(*a), (std::vector<std::uint64_t>{0, 2}));
  EXPECT_EQ(b->pool, 1);
  EXPECT_EQ(ids(*b), (std::vector<std::uint64_t>{1, 3}));
  EXPECT_FALSE(s.next());          // each engine has its batch in flight
  EXPECT_EQ(s.free_blocks(0), 8);  // one block each for two prompts of 8
  s.complete(*a, none_ended(*a));
  s.add(request(4, 8, 8));  // engine 0 has fewer unfinished? equal: engine 0
  auto c = s.next();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->pool, 0);
  EXPECT_TRUE(c->prefill);  // a waiting request beats the engine's decodes
  EXPECT_EQ(ids(*c), std::vector<std::uint64_t>{4});
  s.complete(*b, none_ended(*b));
  auto d = s.next();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->pool, 1);
  EXPECT_FALSE(d->prefill);
  EXPECT_EQ(ids(*d), (std::vector<std::uint64_t>{1, 3}));
}

TEST(ChunkedPrefillScheduler, DecodesFirstThenPrefillChunksUnderTheBudget) {
  SchedulerConfig c = config(1, 100);
  c.chunk_tokens = 8;
  ChunkedPrefillScheduler s(c);
  s.add(request(0, 20, 5));
  auto p = s.next();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->chunks[0].start, 0);
  EXPECT_EQ(p->chunks[0].count, 8);
  EXPECT_FALSE(p->chunks[0].samples());
  s.complete(*p, none_ended(*p));
  s.add(request(1, 10, 5));
  p = s.next();  // the rest of 0's prompt first, then 1's first chunk
  ASSERT_TRUE(p);
  ASSERT_EQ(p->chunks.size(), 1u);
  EXPECT_EQ(p->chunks[0].start, 8);
  EXPECT_EQ(p->chunks[0].count, 8);
  s.complete(*p, none_ended(*p));
  p = s.next();
  ASSERT_EQ(p->chunks.size(), 2u);
  EXPECT_EQ(p->chunks[0].count, 4);  // 16..20: samples
  EXPECT_TRUE(p->chunks[0].samples());
  EXPECT_EQ(p->chunks[1].seq->id, 1u);
  EXPECT_EQ(p->chunks[1].count, 4);
  s.complete(*p, none_ended(*p));
  p = s.next();  // 0 decodes first, then 6 more of 1
  ASSERT_EQ(p->chunks.size(), 2u);
  EXPECT_EQ(p->chunks[0].seq->id, 0u);
  EXPECT_EQ(p->chunks[0].count, 1);
  EXPECT_EQ(p->chunks[1].start, 4);
  EXPECT_EQ(p->chunks[1].count, 6);
}

TEST(Scheduler, RefusesRequestsTheCacheCanNeverHoldAndUnknownPolicies) {
  auto s = make_scheduler("vllm-pp", config(2, 8));                 // 4 blocks per engine
  EXPECT_THROW(s->add(request(0, 40, 40)), std::invalid_argument);  // 5 blocks
  s->add(request(1, 30, 30));
  EXPECT_THROW(make_scheduler("fastest", config(1, 8)), std::invalid_argument);
}

TEST(Simulator, PipelinedVirtualEnginesFinishWhenWorkedOutByHand) {
  // 2 stages at 1 s per micro-batch, free transfers. vllm-pp puts A on
  // engine 0 and B on engine 1; each makes 3 tokens. A's micro-batches
  // leave stage 1 at 2, 4, 6; B's (one stage behind) at 3, 5, 7.
  auto cost = std::make_shared<LinearCost>(1.0, 0.0);
  SimSetup setup;
  setup.scheduler = "vllm-pp";
  setup.config = config(2, 100);
  setup.stage_costs = {cost, cost};
  setup.max_tokens = 16;
  std::vector<SimRequest> requests{{0, 4, 3, 0}, {1, 4, 3, 0}};
  SimResult r = simulate(setup, requests, {0, 0});
  EXPECT_DOUBLE_EQ(r.makespan, 7.0);
  EXPECT_EQ(r.output_tokens, 6u);
  EXPECT_EQ(r.prompt_tokens, 8u);
  EXPECT_DOUBLE_EQ(r.busy, 12.0 / 14.0);  // 6 micro-batches x 2 stages in 2 x 7 s
  // One engine: both in one micro-batch, tokens at 2, 4, 6.
  setup.scheduler = "continuous";
  EXPECT_DOUBLE_EQ(simulate(setup, requests, {0, 0}).makespan, 6.0);
  // TD-Pipe: one prefill micro-batch of both (first tokens at 2), then a
  // decode micro-batch per stage, ceil(2 / 2) = 1 sequence each: A leaves
  // at 4 and 6, B (a stage behind) at 5 and 7.
  setup.scheduler = "tdpipe";
  SimResult td = simulate(setup, requests, {3, 3});
  EXPECT_DOUBLE_EQ(td.makespan, 7.0);
  EXPECT_EQ(td.stats.batches, 5u);
  EXPECT_DOUBLE_EQ(td.mean_decode_batch, 1.0);
}

TEST(Simulator, ProfileInterpolatesAndTheRooflineFitsIt) {
  const std::string csv = std::string(TDPIPE_DATA_DIR) + "/llm_layer_profile_h200.csv";
  ProfileLayerCost p(csv, "llama2-13b");
  EXPECT_NEAR(p.prefill_seconds(512), 0.5268e-3, 1e-9);                    // a profiled row
  EXPECT_NEAR(p.prefill_seconds(640), (0.5268e-3 + 0.7306e-3) / 2, 1e-9);  // halfway
  EXPECT_GT(p.decode_seconds(256, 1024), p.decode_seconds(256, 512));
  EXPECT_THROW(ProfileLayerCost(csv, "llama2-7b"), std::runtime_error);
  RooflineFit fit = fit_roofline(csv);
  RooflineLayerCost roof(shape_named("llama2-13b"), gpu_named("h200"), fit);
  // Within 35% of the measurement across the profile's range.
  for (int n : {16, 512, 4096})
    EXPECT_NEAR(roof.seconds({n, 0, 0}) / p.prefill_seconds(n), 1.0, 0.35) << n;
  for (int b : {1, 64, 512})
    EXPECT_NEAR(roof.seconds({0, b, 1024}) / p.decode_seconds(b, 1024), 1.0, 0.35) << b;
}

TEST(Simulator, WorkloadsAreReproducibleAndFilesAreChecked) {
  auto a = sharegpt_like(1000, 7), b = sharegpt_like(1000, 7);
  ASSERT_EQ(a.size(), 1000u);
  double prompt = 0, output = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].prompt, b[i].prompt);
    EXPECT_EQ(a[i].output, b[i].output);
    EXPECT_LE(a[i].prompt + a[i].output, 4096);
    prompt += a[i].prompt;
    output += a[i].output;
  }
  // Log-normal means: e^(mu + sigma^2 / 2) = 299 and 271 before clipping.
  EXPECT_NEAR(prompt / 1000, 299, 40);
  EXPECT_NEAR(output / 1000, 271, 40);
  const std::string path = ::testing::TempDir() + "/workload.csv";
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("prompt_tokens,output_tokens\n12,30\n7,x\n", f);
  std::fclose(f);
  try {
    read_workload(path);
    FAIL() << "a bad row was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(":3:"), std::string::npos) << e.what();
  }
}
