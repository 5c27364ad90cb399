// SPDX-License-Identifier: GPL-2.0-or-later
//
// The adaptive pools of sched/converge, applied: libconverge's PoolManager
// decides moves from each pool's queue pressure; this agent feeds it Slurm's
// state (pending CPUs per class, idle members) and makes its membership
// real as node features (pool_sim, pool_bigdata, pool_ai), which
// select/converge enforces. Every move is logged with its reason and shown
// by converge-admin.
#pragma once

#include "converge/sched/pools.h"
#include "converge/sched/scheduler_status.h"

#include <chrono>
#include <ctime>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace converge::slurm {

class PoolAgent {
 public:
  // A new or changed "pools" section, taken up by the next tick (the caller
  // may hold slurmctld's locks); the current node features are kept as the
  // membership where they still fit it.
  void configure(const sched::PoolSettings& settings, const std::string& text);
  // One round: makes node features match the membership, then rebalances;
  // returns the number of moves.
  int tick();
  // For converge-admin: members, limits, load and recent moves.
  void add_status(sched::SchedulerStatus& status) const;

 private:
  void take_settings();  // node read lock
  void sync_features();  // node write lock

  mutable std::mutex mutex_;
  std::unique_ptr<sched::PoolManager> manager_;  // null: no pools
  std::string text_;
  std::unique_ptr<sched::PoolSettings> pending_;   // from configure(), for the next tick
  std::map<std::string, sched::PoolStatus> load_;  // pending CPUs and idle nodes only
  struct Moved {
    sched::Move move;
    std::time_t at;
  };
  std::deque<Moved> recent_;  // newest first, bounded
};

}  // namespace converge::slurm
