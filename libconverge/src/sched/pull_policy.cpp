// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/sched/pull_policy.h"

#include <algorithm>

namespace converge::sched {

bool pullable(const PendingJob& job) {
  return job.pending && !job.completing && !job.held && job.has_details &&
         job.partition_schedulable && !job.in_reservation && job.batch && job.min_nodes <= 1 &&
         job.max_nodes <= 1 && !job.heterogeneous && !job.array && job.independent;
}

bool may_become_pullable(const PendingJob& job) {
  return job.pending && job.batch && job.has_details && job.min_nodes <= 1 && !job.heterogeneous &&
         !job.array;
}

std::uint32_t pull_priority(Urgency urgency, std::uint32_t current) {
  return urgency == Urgency::realtime ? std::max(current, kRealtimePriority) : current;
}

void Reservation::add(std::time_t start, std::uint32_t priority) {
  from = from ? std::min(from, start) : start;
  top_priority = std::max(top_priority, priority);
}

std::optional<std::uint32_t> time_limit(std::optional<std::uint32_t> job,
                                        std::optional<std::uint32_t> partition_default,
                                        std::optional<std::uint32_t> partition_max) {
  if (job) return job;
  if (partition_default) return partition_default;
  return partition_max;
}

bool fits_before(std::uint32_t priority, std::optional<std::uint32_t> limit_minutes,
                 const Reservation& reservation, std::time_t now) {
  if (!reservation.from || priority > reservation.top_priority) return true;
  if (!limit_minutes) return false;
  return now + static_cast<std::time_t>(*limit_minutes) * 60 <= reservation.from;
}

std::vector<int> ask_order(const std::vector<int>& nodes_with_local_work, int node_count) {
  std::vector<int> order = nodes_with_local_work;
  for (int n = 0; n < node_count; ++n) order.push_back(n);
  return order;
}

std::string urgency_name(Urgency urgency) {
  return urgency == Urgency::realtime ? "realtime" : "batch";
}

std::string decision_reason(const PullJob& job, const std::string& node) {
  if (job.urgency == Urgency::realtime) return "real-time work goes first";
  bool local =
      std::find(job.data_nodes.begin(), job.data_nodes.end(), node) != job.data_nodes.end();
  return local ? "its data is on this node" : "best batch job that fits";
}

}  // namespace converge::sched
