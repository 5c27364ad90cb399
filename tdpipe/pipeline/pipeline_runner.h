// SPDX-License-Identifier: GPL-2.0-or-later
//
// Pipeline parallelism: the model's layers split over the P ranks of an
// MPI communicator (plan.h), each rank one stage with the KV cache of its
// layers. Rank 0 is stage 0 and the scheduler: it forms micro-batches from
// sequences that are not already in the pipeline, runs its layers on them
// and sends the activations on; the last stage sends the logits of each
// chunk's last token back to rank 0, which samples. Up to P micro-batches
// are in flight, so every stage has work. Batching and preemption follow
// runner.h (continuous batching; preemption by recomputation, never of a
// sequence in flight); the KV blocks are allocated on rank 0 and travel in
// the micro-batch headers, every stage keeping its layers in the same
// blocks.
#pragma once

#include "engine/generate.h"
#include "engine/runner.h"
#include "engine/sequence.h"
#include "engine/stage_model.h"
#include "pipeline/micro_batch.h"

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

  void submit(std::uint64_t id, const Request& request);
  std::map<std::uint64_t, Completion> run();
  const RunnerStats& stats() const { return stats_; }
  int stages() const { return stages_; }

 private:
  struct InFlight {
    std::int32_t id;
    std::vector<Sequence*> sequences;  // in chunk order
    std::vector<char> message;         // kept alive until its send completes
    MPI_Request send = MPI_REQUEST_NULL;
  };

  bool launch();  // forms and starts one micro-batch; false if there is nothing to do
  void complete(InFlight& batch, const float* logits);
  void receive_one();
  void stop_stages();

  StageModel stage_;
  MPI_Comm comm_;
  int stages_;
  RunnerOptions options_;
  std::deque<std::unique_ptr<Sequence>> waiting_;
  std::vector<std::unique_ptr<Sequence>> running_;
  std::deque<InFlight> in_flight_;
  std::map<std::uint64_t, Completion> finished_;
  std::int32_t next_batch_ = 0;
  bool stopped_ = false;
  RunnerStats stats_;
};

}  // namespace tdpipe
