// SPDX-License-Identifier: GPL-2.0-or-later
//
// The scheduling policies (docs/tdpipe.md, "Schedulers", states each one).
#pragma once

#include "tdpipe/sched/scheduler.h"

#include <array>

namespace tdpipe {

// vLLM-style continuous batching of one engine: every batch decodes each
// running sequence not in flight (oldest first) and admits waiting ones
// whole while the token budget and the blocks allow.
class ContinuousScheduler : public Scheduler {
 public:
  using Scheduler::Scheduler;
  std::string name() const override { return "continuous"; }

 protected:
  void plan(Plan& plan) override;
};

// vLLM's pipeline parallelism: one virtual engine per stage, each with its
// own share of the KV blocks and its own requests (a new request goes to
// the engine with the fewest unfinished), taking turns. An engine's batch
// prefills if any of its waiting requests can be admitted, and decodes
// all its running sequences otherwise, so prefill and decode batches
// interleave in the pipeline.
class VllmPipelineScheduler : public Scheduler {
 public:
  explicit VllmPipelineScheduler(SchedulerConfig config);
  std::string name() const override { return "vllm-pp"; }

 protected:
  void plan(Plan& plan) override;
  int pool_for(const SeqState&) const override;
  void on_add(const SeqState& s) override;
  void on_complete(const Plan& plan) override;
  void on_finish(const SeqState& s) override;
  // One virtual engine's batch.
  virtual void plan_engine(Plan& plan, int engine);

 private:
  std::vector<bool> busy_;       // the engine's batch is in flight
  std::vector<int> unfinished_;  // requests per engine
  int turn_ = 0;
};

// vLLM's pipeline parallelism with chunked prefill, as vLLM runs it: the
// virtual engines of VllmPipelineScheduler (own share of the blocks, own
// requests, taking turns), each batch Sarathi-style: the engine's decodes
// first, then its partial prefills, then its waiting requests, under
// chunk_tokens.
class VllmChunkedScheduler : public VllmPipelineScheduler {
 public:
  using VllmPipelineScheduler::VllmPipelineScheduler;
  std::string name() const override { return "vllm-chunked"; }

 protected:
  void plan_engine(Plan& plan, int engine) override;
};

// Sarathi-style chunked prefill: every micro-batch first decodes the
// running sequences not in flight, then continues partial prefills, then
// admits waiting requests, under a budget of chunk_tokens tokens, so each
// micro-batch costs about the same.
class ChunkedPrefillScheduler : public Scheduler {
 public:
  using Scheduler::Scheduler;
  std::string name() const override { return "chunked"; }

 protected:
  void plan(Plan& plan) override;
};

// TD-Pipe: prefill and decode in separate phases.
//  - Greedy prefill: a prefill phase admits waiting requests in order while
//    the KV usage projected from their predicted output lengths stays under
//    kv_fraction of the blocks at every checkpoint (kCheckpoints decode
//    steps ahead), and switches to decode when the next one would not fit.
//  - Inter-batch work stealing: a decode micro-batch takes at most
//    ceil(R / P) of the R running sequences, and at most a P-th of their
//    work (a sequence weighs its context plus the context worth a token's
//    fixed work, from the cost model), from those not in flight, those back
//    the longest first. As sequences finish, the ones a shrunken batch
//    leaves behind fill the next one, so all in-flight micro-batches stay
//    equal in size and in cost.
//  - Intensity-based switching: decode switches to prefill when the
//    intensity of the decode micro-batches (tokens per stage-second, from
//    the cost model) falls below what a prefill phase would achieve: the
//    intensity of the batch refilled with the admissible requests, net of
//    the pipeline bubble the switch costs (P - 1 stage times of a decode
//    and of a prefill micro-batch) spread over a decode phase as long as
//    the current one has been. Short phases are not worth a bubble;
//    long ones with a shrunken batch are.
class TdpipeScheduler : public Scheduler {
 public:
  // Decode steps ahead at which the projection is checked.
  static constexpr std::array<int, 15> kCheckpoints{0,   16,  32,   64,   128,  192,  256, 384,
                                                    512, 768, 1024, 1536, 2048, 3072, 4096};
  using Usage = std::array<double, kCheckpoints.size()>;

  using Scheduler::Scheduler;
  std::string name() const override { return "tdpipe"; }
  bool prefilling() const { return prefill_phase_; }

  // Blocks `s` is projected to hold `steps` decode steps from now (0 once
  // it is predicted to have finished).
  static int projected_blocks(const SeqState& s, int steps);
  // The projected usage of the running sequences.
  Usage projected_usage() const;

 protected:
  void plan(Plan& plan) override;

 private:
  bool fits(const Usage& usage, const SeqState& s) const;
  void add_projection(Usage& usage, const SeqState& s) const;
  bool should_switch_to_prefill() const;
  void plan_prefill(Plan& plan);
  void plan_decode(Plan& plan);

  bool prefill_phase_ = true;
  double decode_time_ = 0;  // stage-seconds of this decode phase's micro-batches
};

}  // namespace tdpipe
