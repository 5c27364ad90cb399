// SPDX-License-Identifier: GPL-2.0-or-later
//
// A single-process serving loop over the batched engine (continuous
// batching, the way vLLM runs one engine): every step decodes one token for
// each running sequence and prefills waiting ones while the KV cache has
// blocks and the step's token budget allows. When a running sequence needs
// a block and none is free, the most recently admitted one is preempted by
// recomputation: its blocks are released and it waits, first in line, to
// prefill its prompt and what it has generated so far again. Its sampler
// keeps its state, so a preempted request produces exactly what it would
// have; no request is ever dropped.
#pragma once

#include "engine/generate.h"
#include "engine/sequence.h"
#include "engine/stage_model.h"

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <vector>

namespace tdpipe {

struct RunnerOptions {
  int kv_blocks = 256;
  int step_tokens = 512;  // most tokens in one step (prefill chunks and decodes)
};

struct RunnerStats {
  std::uint64_t steps = 0, prefill_tokens = 0, decode_tokens = 0, preemptions = 0;
};

class Runner {
 public:
  Runner(const Weights& weights, RunnerOptions options);

  // Throws std::invalid_argument for a request the model cannot take
  // (generate.h's validate) or that could never fit the KV cache.
  void submit(std::uint64_t id, const Request& request);
  // Runs until every submitted request is finished.
  std::map<std::uint64_t, Completion> run();
  const RunnerStats& stats() const { return stats_; }

 private:
  void step();
  void preempt(Sequence& s);

  StageModel model_;
  RunnerOptions options_;
  std::deque<std::unique_ptr<Sequence>> waiting_;
  std::vector<std::unique_ptr<Sequence>> running_;  // in admission order
  std::map<std::uint64_t, Completion> finished_;
  RunnerStats stats_;
};

}  // namespace tdpipe
