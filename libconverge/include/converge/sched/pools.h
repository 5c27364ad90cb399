// SPDX-License-Identifier: GPL-2.0-or-later
//
// Adaptive resource pools: the nodes of the cluster are divided among pools
// for sim, bigdata and ai jobs, each between a minimum and a maximum size.
// Under queue pressure a pool borrows idle nodes from a pool that has more
// than it needs; hysteresis keeps it from oscillating: a node that moved
// stays put for a cool-down, a pool that just grew does not give nodes away
// (and one that gave does not take) within it, and a donor must keep a
// margin of idle capacity beyond its own demand.
#pragma once

#include "converge/config.h"
#include "converge/job_request.h"

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace converge::sched {

struct PoolSpec {
  std::string name;
  JobType type = JobType::sim;
  std::vector<std::string> nodes;  // members at start
  unsigned min_nodes = 0;
  unsigned max_nodes = 0;  // 0: no limit
};

struct PoolSettings {
  std::vector<PoolSpec> pools;
  std::chrono::milliseconds cooldown{30000};
  // A pool grows when its pending demand (CPUs) exceeds its idle CPUs, or
  // its widest waiting job needs more nodes than it has idle.
  // A donor gives a node only if its idle CPUs exceed its demand by this many
  // nodes' worth after the move.
  unsigned donor_margin_nodes = 1;

  // The "pools" section of converge.json; throws config::Error.
  static PoolSettings from_config(const config::Node& section);

  // Takes `current` membership (from the nodes' pool features after a
  // restart or reconfigure) as the starting point instead of the configured
  // one, if it covers the same nodes and respects every pool's limits, so
  // earlier moves survive. Returns whether it did.
  bool adopt(const std::map<std::string, std::set<std::string>>& current);
};

struct PoolLoad {
  std::uint32_t pending_cpus = 0;       // demand of the pool's queued jobs
  std::vector<std::string> idle_nodes;  // members with nothing running
  std::uint32_t cpus_per_node = 1;
  // Nodes the widest queued job needs: a pool is also short when its idle
  // CPUs would do but are on too few nodes for that job.
  std::uint32_t widest_pending_nodes = 0;
};

struct Move {
  std::string node, from, to, reason;
};

class PoolManager {
 public:
  using Clock = std::chrono::steady_clock;

  explicit PoolManager(PoolSettings settings);

  // Decides this round's moves (at most one per pool) and applies them to
  // the membership; the caller makes them visible in Slurm.
  std::vector<Move> rebalance(const std::map<std::string, PoolLoad>& load, Clock::time_point now);

  const std::map<std::string, std::set<std::string>>& members() const { return members_; }
  std::optional<std::string> pool_of_node(const std::string& node) const;
  std::optional<std::string> pool_for(JobType type) const;
  const PoolSettings& settings() const { return settings_; }

 private:
  const PoolSpec& spec(const std::string& pool) const;

  PoolSettings settings_;
  std::map<std::string, std::set<std::string>> members_;
  std::map<std::string, Clock::time_point> node_moved_, pool_grew_, pool_gave_;
};

}  // namespace converge::sched
