// SPDX-License-Identifier: GPL-2.0-or-later
//
// The scheduling policy of a pipeline, apart from what executes it. The
// caller (the real pipeline on rank 0, or the simulator) asks for the next
// micro-batch whenever fewer than `stages` are in flight, executes it,
// and reports it back when its last stage is done. The scheduler keeps the
// waiting and running requests and the KV block ledger: a plan says which
// chunks to run (each chunk some consecutive positions of one sequence,
// the cache blocks for them already counted) and which sequences were
// preempted (their blocks given back; they wait, first in line, to
// prefill everything again: preemption by recomputation). No request is
// ever dropped.
//
// Policies (make_scheduler): "continuous" (vLLM-style continuous batching
// of one engine: decodes and prefills in the same batch), "vllm-pp"
// (vLLM's pipeline parallelism: one virtual engine per stage, each with
// its share of the KV blocks, a batch either prefill or decode), "chunked"
// (Sarathi: decodes first, then prefill chunks under a token budget) and
// "tdpipe" (prefill and decode in separate phases). docs/tdpipe.md states
// each policy.
#pragma once

#include "tdpipe/sched/seq_state.h"
#include "tdpipe/sched/stage_cost.h"

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tdpipe {

struct SchedulerConfig {
  int stages = 1;
  int kv_blocks = 0;                // the whole KV cache, in blocks of 16 positions
  int max_batch_tokens = 4096;      // most tokens in one micro-batch
  int max_batch_seqs = 256;         // most sequences in one micro-batch
  int chunk_tokens = 512;           // chunked prefill's token budget per micro-batch
  double kv_fraction = 0.9;         // TD-Pipe: projected KV usage admitted in a prefill phase
  const StageCost* cost = nullptr;  // TD-Pipe's switching rule weighs phases with it
};

struct PlannedChunk {
  SeqState* seq = nullptr;
  int start = 0;  // first position
  int count = 0;  // positions
  // Whether the chunk reaches the sequence's end, so its last logits give
  // the next token (a partial prefill chunk does not).
  bool samples() const { return start + count == seq->length(); }
};

struct Plan {
  std::vector<PlannedChunk> chunks;
  std::vector<std::uint64_t> preempted;  // give their KV blocks back before running
  bool prefill = false;                  // a prefill-phase batch (for statistics)
  int pool = 0;                          // the virtual engine (vllm-pp)
  int tokens() const;
  BatchShape shape() const;
};

struct SchedulerStats {
  std::uint64_t batches = 0, prefill_tokens = 0, decode_tokens = 0, preemptions = 0;
  std::uint64_t phase_switches = 0;  // tdpipe: decode -> prefill
};

class Scheduler {
 public:
  explicit Scheduler(SchedulerConfig config);
  virtual ~Scheduler() = default;
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // A new request, waiting. Throws std::invalid_argument if it could never
  // fit the cache (or its pool's share of it).
  void add(const SeqState& request);
  // The next micro-batch, or nothing if no work can start now (everything
  // is in flight or waits for blocks the pipeline will give back). The
  // chunks' sequences are in flight until complete().
  std::optional<Plan> next();
  // A micro-batch finished; `finished[i]` tells whether chunk i's sequence
  // ended with the token it sampled (ignored for chunks that do not
  // sample). Returns the ids that ended, whose blocks are released.
  std::vector<std::uint64_t> complete(const Plan& plan, const std::vector<bool>& finished);

  bool idle() const { return waiting_.empty() && running_.empty(); }
  int in_flight() const { return in_flight_; }
  std::size_t waiting() const { return waiting_.size(); }
  std::size_t running() const { return running_.size(); }
  int free_blocks(int pool = 0) const { return free_[std::size_t(pool)]; }
  const SchedulerConfig& config() const { return config_; }
  const SchedulerStats& stats() const { return stats_; }
  virtual std::string name() const = 0;

 protected:
  // The policy: fills `plan` from the waiting and running sequences using
  // the helpers below; an empty plan means nothing to start now.
  virtual void plan(Plan& plan) = 0;
  // Which pool a new request's blocks come from (vllm-pp assigns engines).
  virtual int pool_for(const SeqState&) const { return 0; }
  // A request was accepted into `pool_for`'s pool.
  virtual void on_add(const SeqState&) {}
  // A micro-batch of the policy's came back (before finished sequences leave).
  virtual void on_complete(const Plan&) {}
  // A sequence ended and left.
  virtual void on_finish(const SeqState&) {}
  // Blocks a pool has when empty.
  int pool_blocks(int pool) const;
  void set_pools(int pools);

  // Grows `s`'s blocks to hold `positions`; false (nothing changed) if
  // its pool has too few free.
  bool reserve(SeqState& s, int positions);
  // Preempts the latest admitted sequence of `pool` that is not in flight
  // (nor in the plan being formed: chunks mark their sequences in flight
  // as they are added); false if there is none.
  bool preempt_latest(int pool);
  // Adds a decode chunk for running sequence `s` (one position), making
  // room by preemption; false if there is no room (then `s` may itself be
  // preempted: check s.blocks before using it).
  bool add_decode(Plan& plan, SeqState& s);
  // Moves waiting sequence `at` to running and adds a chunk of its first
  // `count` positions (the whole of it if 0); false (nothing changed) if
  // the blocks for its whole length are not free.
  bool admit(Plan& plan, std::size_t at, int count = 0);
  // Whether a plan may admit more: the running sequences are fewer than
  // stages x max_batch_seqs, and this plan has preempted nothing.
  bool may_admit(std::uint64_t preemptions_before) const;
  // Adds the next prefill chunk of a running sequence, at most `count` positions.
  void add_prefill(Plan& plan, SeqState& s, int count);
  // Sarathi's first two steps over `candidates` (running sequences, in
  // admission order): a decode for each not in flight, then the next chunk
  // of each prefill under way, while `budget` tokens and max_batch_seqs last.
  void add_decodes_then_prefills(Plan& plan, const std::vector<SeqState*>& candidates, int& budget,
                                 int& seqs);
  // The running sequences, in admission order, as of now (preemption
  // moves sequences out of running_ while a policy walks this list).
  std::vector<SeqState*> running_list() const;

  SchedulerConfig config_;
  std::deque<std::unique_ptr<SeqState>> waiting_;
  std::vector<std::unique_ptr<SeqState>> running_;  // in admission order
  std::vector<int> free_;                           // free blocks per pool
  SchedulerStats stats_;

 private:
  void add_chunk(Plan& plan, SeqState& s, int count);

  int in_flight_ = 0;
  std::uint64_t next_admission_ = 0, completed_ = 0;
  std::vector<std::uint64_t> preempted_;  // not yet told to the executor
};

// "continuous", "vllm-pp", "chunked" or "tdpipe"; throws
// std::invalid_argument naming the choices for anything else.
std::unique_ptr<Scheduler> make_scheduler(const std::string& name, const SchedulerConfig& config);
const std::vector<std::string>& scheduler_names();

}  // namespace tdpipe
