// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/sched/pull_queue.h"

#include <algorithm>

namespace converge::sched {

void PullQueue::push(const PullJob& job) {
  remove(job.id);
  Entry e{job, {}};
  if (!e.job.arrival) e.job.arrival = ++next_sequence_;
  e.key = {-static_cast<std::int64_t>(job.priority), e.job.arrival, job.id};
  buckets_[{job.urgency, job.cpus}].insert(e.key);
  for (const auto& node : job.data_nodes) local_[node][job.urgency].insert(e.key);
  jobs_.emplace(job.id, std::move(e));
}

bool PullQueue::remove(std::uint32_t id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return false;
  const Entry& e = it->second;
  auto bucket = buckets_.find({e.job.urgency, e.job.cpus});
  bucket->second.erase(e.key);
  if (bucket->second.empty()) buckets_.erase(bucket);
  for (const auto& node : e.job.data_nodes) {
    auto n = local_.find(node);
    if (n == local_.end()) continue;
    n->second[e.job.urgency].erase(e.key);
    if (n->second[e.job.urgency].empty()) n->second.erase(e.job.urgency);
    if (n->second.empty()) local_.erase(n);
  }
  jobs_.erase(it);
  return true;
}

std::size_t PullQueue::size(Urgency urgency) const {
  std::size_t n = 0;
  for (const auto& [key, bucket] : buckets_) {
    if (key.first == urgency) n += bucket.size();
  }
  return n;
}

std::optional<PullJob> PullQueue::best_for(const NodeCapacity& node) const {
  auto fits = [&](const Entry& e) {
    return e.job.cpus <= node.free_cpus && e.job.memory_mb <= node.free_memory_mb;
  };
  for (Urgency urgency : {Urgency::realtime, Urgency::batch}) {
    // Jobs whose data is here: the first that fits, in key order.
    if (auto n = local_.find(node.name); n != local_.end()) {
      if (auto u = n->second.find(urgency); u != n->second.end()) {
        for (const Key& key : u->second) {
          const Entry& e = jobs_.at(std::get<2>(key));
          if (fits(e)) return e.job;
        }
      }
    }
    // Otherwise the best head among the buckets this node's CPUs can take;
    // within a bucket, the first whose memory fits.
    const Entry* best = nullptr;
    for (auto it = buckets_.lower_bound({urgency, 0});
         it != buckets_.end() && it->first.first == urgency && it->first.second <= node.free_cpus;
         ++it) {
      for (const Key& key : it->second) {
        const Entry& e = jobs_.at(std::get<2>(key));
        if (!fits(e)) continue;
        if (!best || better(e, *best)) best = &e;
        break;
      }
    }
    if (best) return best->job;
  }
  return std::nullopt;
}

std::vector<std::string> PullQueue::nodes_with_local_work() const {
  std::vector<std::string> out;
  for (const auto& [node, by_urgency] : local_) out.push_back(node);
  return out;
}

std::vector<std::uint32_t> PullQueue::order(std::size_t limit) const {
  std::vector<const Entry*> all;
  for (const auto& [id, e] : jobs_) all.push_back(&e);
  std::sort(all.begin(), all.end(), [](const Entry* a, const Entry* b) {
    if (a->job.urgency != b->job.urgency) return a->job.urgency < b->job.urgency;
    return a->key < b->key;
  });
  std::vector<std::uint32_t> out;
  for (std::size_t i = 0; i < all.size() && i < limit; ++i) out.push_back(all[i]->job.id);
  return out;
}

}  // namespace converge::sched
