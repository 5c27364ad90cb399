// SPDX-License-Identifier: GPL-2.0-or-later
//
// tdpipe-sim's discrete-event simulator: the same Scheduler the engine
// uses plans micro-batches; the cost model says how long each stage takes
// for each; micro-batches pass the stages in order (each stage works on
// one at a time, first come first served) with a transfer between
// neighbours; at most `stages` are in flight, and the first stage plans
// the next when one comes back, as the real pipeline's rank 0 does.
// Requests end after their known output length; the scheduler only sees
// the predicted one.
#pragma once

#include "tdpipe/sched/scheduler.h"
#include "tdpipe/sim/workload.h"

#include <memory>
#include <string>
#include <vector>

namespace tdpipe::sim {

struct SimSetup {
  std::string scheduler = "tdpipe";
  SchedulerConfig config;  // stages, KV blocks, batch limits (cost: stage 0's)
  std::vector<std::shared_ptr<const StageCost>> stage_costs;  // one per stage
  double transfer_bytes_per_token = 0;                        // activations sent to the next stage
  double link = 1e12, link_latency = 0;                       // bytes/s, seconds
  double predictor_seconds = 0;  // running the length predictor, per request
  // A request may run to max_tokens (as far as the scheduler knows) within
  // the model's context; it really stops after its output length.
  int max_tokens = 2048, context = 4096;
};

struct SimResult {
  std::string scheduler;
  double makespan = 0;  // seconds until the last request finished
  std::uint64_t prompt_tokens = 0, output_tokens = 0;
  double output_throughput() const { return makespan > 0 ? output_tokens / makespan : 0; }
  double total_throughput() const {
    return makespan > 0 ? (prompt_tokens + output_tokens) / makespan : 0;
  }
  double busy = 0;               // mean fraction of the makespan the stages computed
  double mean_decode_batch = 0;  // decoding sequences per micro-batch that had any
  double mean_latency = 0;       // arrival to last token, seconds
  SchedulerStats stats;
};

// `predicted[i]` is request i's predicted output length (0: unknown).
// Throws std::invalid_argument for a request the cache can never hold.
SimResult simulate(const SimSetup& setup, const std::vector<SimRequest>& requests,
                   const std::vector<int>& predicted);

}  // namespace tdpipe::sim
