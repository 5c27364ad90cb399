// SPDX-License-Identifier: GPL-2.0-or-later
//
// The pull side of sched/converge: big-data jobs wait in Converge's pull
// queue (libconverge's sched::PullQueue) instead of being matched against
// every node; when capacity frees (select/converge reports a job's end, or a
// node leaves the completing state) each node with free CPUs takes the best
// job that fits it, real-time work first, and the agent starts it the way
// Slurm's own schedulers do (select_nodes on that node, then launch_job).
// Slurm's main scheduler and backfill still run for every job; whichever
// starts a job first wins, under slurmctld's job lock. A batch job is not
// pulled onto nodes backfill planned for a higher-priority job unless its
// time limit ends it first (backfill's own rule).
#pragma once

#include "converge/sched/locality_map.h"
#include "converge/sched/pull_queue.h"
#include "converge/mutex.h"
#include "converge/sched/scheduler_status.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <ctime>
#include <deque>
#include <functional>
#include <string>
#include <memory>
#include <thread>
#include <vector>

namespace converge::slurm {

class PullAgent {
 public:
  void start();
  void stop();
  void wake();  // capacity freed: look now
  void set_locality(std::shared_ptr<const sched::LocalityMap> map);
  // The nodes the locality map names for `path` (none: empty).
  std::vector<std::string> data_nodes(const std::string& path) const;
  // More sections for the status file (the pools'), asked for at each write.
  void set_status_source(std::function<void(sched::SchedulerStatus&)> source);
  // The status changed elsewhere (a pool move): write it soon.
  void status_changed() { status_requested_ = true; }

  using Decision = sched::PullDecision;
  struct Stats {
    std::uint64_t pulled = 0;    // jobs started by the pull side
    std::uint64_t attempts = 0;  // select_nodes calls
    std::size_t queued = 0, realtime = 0;
  };
  // converge-admin's view: written to StateSaveLocation/converge-status.json.
  // The agent's thread writes it.
  void write_status() CONVERGE_EXCLUDES(mutex_);

 private:
  void run();
  void take_new_jobs();  // job read lock
  int dispatch();        // scheduler write locks; returns jobs started

  std::thread thread_;
  // Guards what other slurmctld threads touch (wake-ups, the locality map,
  // the counters and decisions for the status); the rest is the agent
  // thread's alone.
  mutable converge::Mutex mutex_;
  converge::CondVar wakeup_;
  bool stopping_ CONVERGE_GUARDED_BY(mutex_) = false;
  bool woken_ CONVERGE_GUARDED_BY(mutex_) = false;

  sched::PullQueue queue_;  // touched only by the agent's thread
  // Big-data jobs not pullable yet (held, dependencies, begin time): looked
  // at again whenever the job list changes.
  std::vector<std::uint32_t> parked_;
  std::uint32_t last_seen_job_ = 0;
  int last_job_count_ = -1;
  std::time_t last_job_update_seen_ = 0;
  Stats stats_ CONVERGE_GUARDED_BY(mutex_);
  int idle_rounds_ = 0;      // dispatch rounds in a row that started nothing
  int blocked_by_plan_ = 0;  // picks the last dispatch held back for reservations
  std::deque<Decision> recent_ CONVERGE_GUARDED_BY(mutex_);  // newest first, bounded
  std::chrono::steady_clock::time_point status_written_{};
  bool status_dirty_ = true;
  std::shared_ptr<const sched::LocalityMap> locality_ CONVERGE_GUARDED_BY(mutex_) =
      std::make_shared<sched::LocalityMap>();
  std::function<void(sched::SchedulerStatus&)> status_source_ CONVERGE_GUARDED_BY(mutex_);
  std::atomic<bool> status_requested_{false};
};

}  // namespace converge::slurm
