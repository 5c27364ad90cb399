// SPDX-License-Identifier: GPL-2.0-or-later
//
// A single-process serving loop over the batched engine: a scheduler
// (sched/scheduler.h, any policy) plans each batch, the engine runs it
// over every layer and samples. With the cache short of blocks, sequences
// are preempted by recomputation; their samplers keep their state, so a
// preempted request produces exactly what it would have. No request is
// ever dropped.
#pragma once

#include "tdpipe/engine/generate.h"
#include "tdpipe/engine/measured_cost.h"
#include "tdpipe/engine/request_table.h"
#include "tdpipe/engine/stage_model.h"
#include "tdpipe/sched/scheduler.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace tdpipe {

struct RunnerOptions {
  int kv_blocks = 256;
  int step_tokens = 512;  // most tokens in one micro-batch
  std::string scheduler = "continuous";
  int max_batch_seqs = 256;
  int chunk_tokens = 64;     // chunked prefill's budget per micro-batch
  double kv_fraction = 0.9;  // TD-Pipe's projected KV usage limit
  // Predicted output tokens of a request, for TD-Pipe's KV projection
  // (none: it projects each request's max_tokens).
  std::function<int(const Request&)> predict_output;
};

// The scheduler's settings for `stages` stages under these options.
SchedulerConfig scheduler_config(const RunnerOptions& options, int stages, const StageCost* cost);

class Runner {
 public:
  Runner(const Weights& weights, RunnerOptions options);

  // Throws std::invalid_argument for a request the model cannot take
  // (generate.h's validate), that could never fit the KV cache, or whose
  // id was already submitted.
  void submit(std::uint64_t id, const Request& request);
  // Runs until every submitted request is finished.
  std::map<std::uint64_t, Completion> run();
  // Runs one batch; false if there was nothing to run. Requests may be
  // submitted between steps; set the table's callbacks to hear of tokens
  // and completions as they come.
  bool step();
  RequestTable& table() { return table_; }
  const Scheduler& scheduler() const { return *scheduler_; }
  const KvCache& cache() { return model_.cache(); }
  const SchedulerStats& stats() const { return scheduler_->stats(); }

 private:
  StageModel model_;
  MeasuredCost cost_;
  std::unique_ptr<Scheduler> scheduler_;
  RequestTable table_;
  std::function<int(const Request&)> predict_;
  std::size_t submitted_ = 0;
};

}  // namespace tdpipe
