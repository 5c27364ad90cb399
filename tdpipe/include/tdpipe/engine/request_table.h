// SPDX-License-Identifier: GPL-2.0-or-later
//
// The engine's side of scheduling: the requests' tokens, samplers and KV
// block tables, kept by id beside the scheduler's SeqStates, and the
// translation of a scheduler's plan into the first stage's input (block
// reservations, chunks, tokens) and of the last stage's logits back into
// sampled tokens. Runner (one process) and PipelineRunner (stages as MPI
// ranks) both carry plans out through it.
#pragma once

#include "tdpipe/engine/sequence.h"
#include "tdpipe/engine/stage_model.h"
#include "tdpipe/sched/scheduler.h"

#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>
#include <vector>

namespace tdpipe {

class RequestTable {
 public:
  RequestTable(KvCache& cache, const ModelConfig& config) : cache_(cache), config_(config) {}

  // Validates the request (check_admissible against `blocks`) and returns
  // the scheduler's view of it, with `predicted` output tokens.
  SeqState add(std::uint64_t id, const Request& request, int blocks, int predicted = 0);
  // Drops a request the scheduler refused after add().
  void forget(std::uint64_t id) { sequences_.erase(id); }
  // add() and then the scheduler's add(), or neither.
  void submit(Scheduler& scheduler, std::uint64_t id, const Request& request, int blocks,
              int predicted = 0);

  struct Inputs {
    std::vector<Chunk> chunks;
    std::vector<int> tokens;
  };
  // Releases the preempted sequences' blocks, reserves the chunks' and
  // gathers their tokens. The scheduler's ledger guarantees the blocks.
  Inputs prepare(const Plan& plan);
  // Samples the next token of each chunk that ends its sequence from its
  // row of `logits` (vocab_size floats per chunk); whether each ended.
  std::vector<bool> sample(const Plan& plan, const float* logits);
  // Releases the blocks of sequences the scheduler says ended and keeps
  // their completions.
  void finish(const std::vector<std::uint64_t>& ids);

  std::map<std::uint64_t, Completion> take_finished() { return std::move(finished_); }
  std::size_t size() const { return sequences_.size(); }

  // Told of each token as it is generated, and of each completion as its
  // sequence ends (then it is not kept for take_finished()).
  std::function<void(std::uint64_t id, int token)> on_token;
  std::function<void(std::uint64_t id, Completion&& completion)> on_finished;

 private:
  KvCache& cache_;
  const ModelConfig& config_;
  std::unordered_map<std::uint64_t, Sequence> sequences_;
  std::map<std::uint64_t, Completion> finished_;
};

}  // namespace tdpipe
