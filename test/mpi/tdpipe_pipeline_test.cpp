// SPDX-License-Identifier: GPL-2.0-or-later
//
// TD-Pipe's pipeline on real MPI ranks (CTest runs it on 2 and 3): rank 0
// schedules and is stage 0, the other ranks are stages. Every request gets
// exactly the tokens of the single-process reference, with and without
// preemption. Rank 0 tells the others which model and cache each scenario
// uses (a broadcast), so they can serve it.
#include "tdpipe/engine/generate.h"
#include "tdpipe/engine/reference.h"
#include "tdpipe/model/llama2c.h"
#include "tdpipe/model/synthetic.h"
#include "tdpipe/pipeline/pipeline_runner.h"

#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <filesystem>
#include <string>

using namespace tdpipe;

namespace {
// TD-Pipe's projection believes every request ends at once and may use
// every block, so with few blocks it admits too many and must preempt.
int predict_too_short(const Request&) {
  return 1;
}

const std::string kStories = std::string(TDPIPE_MODELS_DIR) + "/stories260K.bin";

// {which model (0: synthetic, 1: stories260K, -1: no more), KV blocks};
// stories260K as a pipeline stage loads only its layers.
Weights model_of(int which, int stage = 0, int stages = 1) {
  if (which == 1) return load_llama2c(kStories, stage, stages);
  // dim, hidden, layers, heads, kv heads, vocabulary, sequence length
  return synthetic_weights(ModelConfig{32, 40, 4, 4, 2, 60, 96}, 77);
}

void announce(int which, int blocks) {
  int scenario[2] = {which, blocks};
  MPI_Bcast(scenario, 2, MPI_INT, 0, MPI_COMM_WORLD);
}

std::vector<Request> mixed_requests(int n, int vocab) {
  std::vector<Request> out;
  for (int i = 0; i < n; ++i) {
    Request r;
    r.prompt.push_back(1);
    for (int t = 0; t < 2 + (i * 7) % 20; ++t) r.prompt.push_back((i * 13 + t * 5) % vocab);
    r.max_tokens = 5 + (i * 11) % 30;
    r.eos = i % 3 == 0 ? 7 : -1;
    if (i % 4 == 1) r.sampling = {0.9f, std::uint64_t(100 + i)};
    out.push_back(r);
  }
  return out;
}

// Under every scheduler: the same tokens as the reference.
void expect_reference_tokens(int which, int blocks, bool expect_preemption) {
  Weights w = model_of(which);
  auto requests = mixed_requests(14, w.config.vocab_size);
  std::vector<Completion> expected;
  for (const auto& r : requests) {
    ReferenceModel model(w);
    expected.push_back(generate(model, r));
  }
  int stages = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &stages);
  const Weights stage0 = model_of(which, 0, stages);  // stories260K: only stage 0's layers
  for (const std::string& scheduler : scheduler_names()) {
    // vLLM's virtual engines each get a share: at least the 4 blocks the
    // longest request needs.
    const int cache = scheduler.rfind("vllm", 0) == 0 ? std::max(blocks, 4 * stages) : blocks;
    announce(which, cache);
    std::map<std::uint64_t, Completion> done;
    SchedulerStats stats;
    {
      PipelineRunner runner(stage0, MPI_COMM_WORLD,
                            {cache, 64, scheduler, 256, 16, 1.0, predict_too_short});
      for (std::size_t i = 0; i < requests.size(); ++i) runner.submit(i, requests[i]);
      done = runner.run();
      stats = runner.stats();
    }
    ASSERT_EQ(done.size(), requests.size()) << scheduler;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      EXPECT_EQ(done[i].tokens, expected[i].tokens)
          << scheduler << ", request " << i << ", " << cache << " blocks";
      EXPECT_EQ(done[i].finish_reason, expected[i].finish_reason) << scheduler << " " << i;
    }
    if (expect_preemption)
      EXPECT_GT(stats.preemptions, 0u) << scheduler;
    else
      EXPECT_EQ(stats.preemptions, 0u) << scheduler;
  }
}

}  // namespace

TEST(TdpipePipeline, SyntheticModelGivesTheReferenceTokensOnEveryStageCount) {
  expect_reference_tokens(0, 300, false);
}

TEST(TdpipePipeline, PreemptedRequestsStillGiveTheReferenceTokens) {
  expect_reference_tokens(0, 12, true);
}

TEST(TdpipePipeline, Stories260KGivesTheReferenceTokens) {
  if (!std::filesystem::exists(kStories)) GTEST_SKIP() << kStories << " is not on this machine";
  expect_reference_tokens(1, 64, false);
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, status = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) {
    ::testing::InitGoogleTest(&argc, argv);
    status = RUN_ALL_TESTS();
    announce(-1, 0);
  } else {
    // Serve each scenario rank 0 announces until it says there are no more.
    while (true) {
      int scenario[2];
      MPI_Bcast(scenario, 2, MPI_INT, 0, MPI_COMM_WORLD);
      if (scenario[0] < 0) break;
      int rank = 0, size = 1;
      MPI_Comm_rank(MPI_COMM_WORLD, &rank);
      MPI_Comm_size(MPI_COMM_WORLD, &size);
      Weights w = model_of(scenario[0], rank, size);
      serve_stage(w, MPI_COMM_WORLD, scenario[1]);
    }
  }
  MPI_Finalize();
  return status;
}
