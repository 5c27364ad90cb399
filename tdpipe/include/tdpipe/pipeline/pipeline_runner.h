// SPDX-License-Identifier: GPL-2.0-or-later
//
// Pipeline parallelism: the model's layers split over the P ranks of an
// MPI communicator (plan.h), each rank one stage with the KV cache of its
// layers. Rank 0 is stage 0 and runs the scheduler (sched/scheduler.h,
// any policy): whenever fewer than P micro-batches are in flight it asks
// for the next one, runs its layers on it and sends the activations on;
// the last stage sends the logits of each chunk's last token back to rank
// 0, which samples and reports the micro-batch to the scheduler. The KV
// blocks are allocated on rank 0 and travel in the micro-batch headers,
// every stage keeping its layers in the same blocks.
#pragma once

#include "tdpipe/engine/generate.h"
#include "tdpipe/engine/measured_cost.h"
#include "tdpipe/engine/request_table.h"
#include "tdpipe/engine/runner.h"
#include "tdpipe/engine/stage_model.h"
#include "tdpipe/pipeline/micro_batch.h"
#include "tdpipe/sched/scheduler.h"

#include <mpi.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <vector>

namespace tdpipe {

// Ranks 1 .. P-1: serve this rank's stage until rank 0 stops the pipeline.
void serve_stage(const Weights& weights, MPI_Comm comm, int kv_blocks);

class PipelineRunner {
 public:
  // On rank 0 of `comm`; the other ranks run serve_stage with the same
  // weights and kv_blocks.
  PipelineRunner(const Weights& weights, MPI_Comm comm, RunnerOptions options);
  ~PipelineRunner();  // stops the other stages

  // As Runner::submit.
  void submit(std::uint64_t id, const Request& request);
  std::map<std::uint64_t, Completion> run();
  const SchedulerStats& stats() const { return scheduler_->stats(); }
  int stages() const { return stages_; }

 private:
  struct InFlight {
    std::int32_t id;
    Plan plan;
    std::vector<char> message;  // kept alive until its send completes
    MPI_Request send = MPI_REQUEST_NULL;
  };

  void launch(Plan plan);
  void complete(const Plan& plan, const float* logits);
  void receive_one();
  void stop_stages();

  StageModel stage_;
  MPI_Comm comm_;
  int stages_;
  MeasuredCost cost_;
  std::unique_ptr<Scheduler> scheduler_;
  RequestTable table_;
  std::function<int(const Request&)> predict_;
  std::deque<InFlight> in_flight_;
  std::int32_t next_batch_ = 0;
  std::size_t submitted_ = 0;
  bool stopped_ = false;
};

}  // namespace tdpipe
