// SPDX-License-Identifier: GPL-2.0-or-later
//
// The big-data pull queue. Nodes with idle capacity pull work: when a node
// frees (a job ends, the node comes up) it asks for the best pending job that
// fits it, and gets it without a scan of every pending job against every
// node. Jobs are kept in buckets by (urgency, CPUs per node), each ordered by
// priority then arrival, plus an index of the jobs whose input data each node
// holds; a pick looks at the head of at most one bucket per CPU count that
// fits, and at the node's local jobs.
//
// Order: real-time jobs before batch ones; within a class, a job whose data
// is on the node before one whose data is not; then higher priority; then
// earlier arrival.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace converge::sched {

enum class Urgency : std::uint8_t { realtime = 0, batch = 1 };

struct PullJob {
  std::uint32_t id = 0;
  Urgency urgency = Urgency::batch;
  std::uint32_t priority = 0;  // higher first
  std::uint32_t cpus = 1;      // on the one node it runs on
  std::uint64_t memory_mb = 0;
  std::vector<std::string> data_nodes;  // nodes holding its input, preferred
  std::uint64_t arrival = 0;            // set by the queue; kept when a job is pushed back
};

struct NodeCapacity {
  std::string name;
  std::uint32_t free_cpus = 0;
  std::uint64_t free_memory_mb = 0;
};

class PullQueue {
 public:
  // A job already queued is replaced (its priority or size changed).
  void push(const PullJob& job);
  bool remove(std::uint32_t id);
  bool contains(std::uint32_t id) const { return jobs_.contains(id); }
  std::size_t size() const { return jobs_.size(); }
  std::size_t size(Urgency urgency) const;

  // The best job for the node, not removed; nullopt if nothing fits.
  std::optional<PullJob> best_for(const NodeCapacity& node) const;
  // Nodes that hold the data of some queued job: they ask first, so such
  // jobs land where their data is.
  std::vector<std::string> nodes_with_local_work() const;
  // Jobs in pull order as a node with unlimited capacity would see them (for status views).
  std::vector<std::uint32_t> order(std::size_t limit) const;

 private:
  // Sort key inside a bucket: higher priority, then earlier arrival.
  using Key = std::tuple<std::int64_t, std::uint64_t, std::uint32_t>;  // -priority, sequence, id
  struct Entry {
    PullJob job;
    Key key;
  };
  using Bucket = std::set<Key>;
  static bool better(const Entry& a, const Entry& b) { return a.key < b.key; }

  std::uint64_t next_sequence_ = 0;
  std::unordered_map<std::uint32_t, Entry> jobs_;
  // (urgency, cpus) -> jobs
  std::map<std::pair<Urgency, std::uint32_t>, Bucket> buckets_;
  // node -> urgency -> jobs whose data it holds
  std::unordered_map<std::string, std::map<Urgency, Bucket>> local_;
};

}  // namespace converge::sched
