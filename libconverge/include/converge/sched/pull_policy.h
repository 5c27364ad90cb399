// SPDX-License-Identifier: GPL-2.0-or-later
//
// The big-data pull policy, apart from Slurm: which pending jobs the pull
// side takes, the priority that real-time work gets, the rule that keeps a
// pulled job off a node backfill has reserved, the order nodes are asked
// in, the limits of one round and the reason each decision gives.
// sched/converge's pull agent reads these facts from slurmctld's records
// and applies what this file decides (the queue itself: pull_queue.h).
#pragma once

#include "converge/sched/pull_queue.h"

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

namespace converge::sched {

// What the policy needs to know of a pending big-data job.
struct PendingJob {
  bool pending = false;
  bool completing = false;
  bool held = false;  // priority 0
  bool has_details = false;
  bool partition_schedulable = false;  // its partition is up for scheduling
  bool in_reservation = false;         // an advance reservation runs it
  bool batch = false;                  // sbatch, not salloc/srun
  std::uint32_t min_nodes = 1, max_nodes = 1;
  bool heterogeneous = false;
  bool array = false;        // an array job's record, or one of its tasks
  bool independent = false;  // dependencies met and begin time reached
};

// Taken by the pull side now: pending one-node batch jobs, not held, not
// waiting, not in a reservation, in a schedulable partition. Everything
// else is left to Slurm's own schedulers.
bool pullable(const PendingJob& job);
// Not pullable now, but may become so (held, or waiting on a dependency or
// a begin time): kept aside and looked at again.
bool may_become_pullable(const PendingJob& job);

// Above what priority/basic and priority/multifactor give ordinary jobs, so
// that Slurm's own schedulers, which still see every job, agree with the
// pull side that real-time work goes first.
constexpr std::uint32_t kRealtimePriority = 0xfffffff0u;
// The priority a job should have: real-time jobs are raised, never lowered.
std::uint32_t pull_priority(Urgency urgency, std::uint32_t current);

// Backfill's plan for one node: from when it is reserved for a pending job
// that is not pulled, and the highest priority among such jobs.
struct Reservation {
  std::time_t from = 0;  // earliest planned start; 0: not reserved
  std::uint32_t top_priority = 0;
  void add(std::time_t start, std::uint32_t priority);
};

// A job's time limit in minutes: its own, else its partition's default,
// else the partition's maximum; nullopt: unlimited.
std::optional<std::uint32_t> time_limit(std::optional<std::uint32_t> job,
                                        std::optional<std::uint32_t> partition_default,
                                        std::optional<std::uint32_t> partition_max);

// Backfill's own rule: a pulled job takes a reserved node only if it
// outranks every job the node is reserved for, or its time limit ends it
// before the earliest of them starts. So big-data work fills holes without
// delaying a reserved simulation or AI job.
bool fits_before(std::uint32_t priority, std::optional<std::uint32_t> limit_minutes,
                 const Reservation& reservation, std::time_t now);

// Node indices in the order they are asked: the nodes holding a waiting
// job's data first (they may be asked again in the full pass), then all.
std::vector<int> ask_order(const std::vector<int>& nodes_with_local_work, int node_count);

// Jobs a node may refuse (reserved, or select_nodes said no) before the
// round moves to the next node: it is fuller than it looks.
constexpr std::size_t kRefusalsPerNode = 2;
// Decisions kept for converge-admin status.
constexpr std::size_t kRecentDecisions = 20;

// Why `job` went to `node`, as converge-admin shows it.
std::string decision_reason(const PullJob& job, const std::string& node);
// "realtime" or "batch".
std::string urgency_name(Urgency urgency);

}  // namespace converge::sched
