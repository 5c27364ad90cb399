// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/sched/pools.h"

#include <fmt/format.h>

#include <algorithm>

namespace converge::sched {

PoolSettings PoolSettings::from_config(const config::Node& section) {
  section.allow_only({"cooldown_s", "donor_margin_nodes", "sim", "bigdata", "ai"});
  PoolSettings s;
  if (auto v = section.find("cooldown_s")) s.cooldown = std::chrono::seconds(v->as_int(0, 86400));
  if (auto v = section.find("donor_margin_nodes"))
    s.donor_margin_nodes = static_cast<unsigned>(v->as_int(0, 1 << 16));
  std::set<std::string> seen;
  for (const char* name : {"sim", "bigdata", "ai"}) {
    auto p = section.find(name);
    if (!p) continue;
    p->allow_only({"nodes", "min_nodes", "max_nodes"});
    PoolSpec spec;
    spec.name = name;
    spec.type = parse_job_type(name);
    for (const auto& n : p->at("nodes").elements()) {
      std::string node = n.as_string();
      if (!seen.insert(node).second) n.fail(fmt::format("node {} is in two pools", node));
      spec.nodes.push_back(node);
    }
    if (auto v = p->find("min_nodes"))
      spec.min_nodes = static_cast<unsigned>(v->as_int(0, 1 << 16));
    if (auto v = p->find("max_nodes"))
      spec.max_nodes = static_cast<unsigned>(v->as_int(0, 1 << 16));
    if (spec.max_nodes && spec.min_nodes > spec.max_nodes)
      p->fail(fmt::format("min_nodes {} is above max_nodes {}", spec.min_nodes, spec.max_nodes));
    if (spec.nodes.size() < spec.min_nodes)
      p->at("nodes").fail(
          fmt::format("{} nodes, fewer than min_nodes {}", spec.nodes.size(), spec.min_nodes));
    if (spec.max_nodes && spec.nodes.size() > spec.max_nodes)
      p->at("nodes").fail(
          fmt::format("{} nodes, more than max_nodes {}", spec.nodes.size(), spec.max_nodes));
    s.pools.push_back(std::move(spec));
  }
  return s;
}

bool PoolSettings::adopt(const std::map<std::string, std::set<std::string>>& current) {
  std::set<std::string> configured, seen;
  for (const auto& p : pools) configured.insert(p.nodes.begin(), p.nodes.end());
  for (const auto& [pool_name, nodes] : current) {
    const std::string& pool = pool_name;  // a lambda may not capture a binding (clang 14)
    auto spec = std::find_if(pools.begin(), pools.end(), [&](auto& p) { return p.name == pool; });
    if (spec == pools.end() && !nodes.empty()) return false;
    seen.insert(nodes.begin(), nodes.end());
  }
  if (seen != configured) return false;
  for (const auto& p : pools) {
    auto it = current.find(p.name);
    std::size_t size = it == current.end() ? 0 : it->second.size();
    if (size < p.min_nodes || (p.max_nodes && size > p.max_nodes)) return false;
  }
  for (auto& p : pools) {
    auto it = current.find(p.name);
    p.nodes = it == current.end() ? std::vector<std::string>{}
                                  : std::vector<std::string>(it->second.begin(), it->second.end());
  }
  return true;
}

PoolManager::PoolManager(PoolSettings settings) : settings_(std::move(settings)) {
  for (const auto& p : settings_.pools) members_[p.name] = {p.nodes.begin(), p.nodes.end()};
}

const PoolSpec& PoolManager::spec(const std::string& pool) const {
  for (const auto& p : settings_.pools) {
    if (p.name == pool) return p;
  }
  throw std::out_of_range("no pool " + pool);
}

std::optional<std::string> PoolManager::pool_of_node(const std::string& node) const {
  for (const auto& [pool, nodes] : members_) {
    if (nodes.contains(node)) return pool;
  }
  return std::nullopt;
}

std::optional<std::string> PoolManager::pool_for(JobType type) const {
  for (const auto& p : settings_.pools) {
    if (p.type == type) return p.name;
  }
  return std::nullopt;
}

std::vector<Move> PoolManager::rebalance(const std::map<std::string, PoolLoad>& load,
                                         Clock::time_point now) {
  auto recent = [&](const std::map<std::string, Clock::time_point>& when, const std::string& key) {
    auto it = when.find(key);
    return it != when.end() && now - it->second < settings_.cooldown;
  };
  auto load_of = [&](const std::string& pool) {
    auto it = load.find(pool);
    return it == load.end() ? PoolLoad{} : it->second;
  };
  // Neediest first: the largest shortfall of idle CPUs against demand.
  std::vector<std::pair<std::int64_t, std::string>> needy;
  for (const auto& p : settings_.pools) {
    PoolLoad l = load_of(p.name);
    std::int64_t idle_nodes = std::int64_t(l.idle_nodes.size());
    std::int64_t shortfall = std::max(
        std::int64_t(l.pending_cpus) - idle_nodes * l.cpus_per_node,
        (std::int64_t(l.widest_pending_nodes) - idle_nodes) * std::int64_t(l.cpus_per_node));
    if (shortfall > 0) needy.emplace_back(-shortfall, p.name);
  }
  std::sort(needy.begin(), needy.end());
  std::vector<Move> moves;
  std::set<std::string> changed;  // pools that moved this round
  for (const auto& [negative_shortfall, taker] : needy) {
    const PoolSpec& t = spec(taker);
    if (changed.contains(taker) || recent(pool_gave_, taker)) continue;
    if (t.max_nodes && members_[taker].size() >= t.max_nodes) continue;
    // The donor with the most idle capacity beyond its demand and margin.
    std::optional<std::pair<std::int64_t, std::string>> donor;
    std::string node;
    for (const auto& d : settings_.pools) {
      if (d.name == taker || changed.contains(d.name) || recent(pool_grew_, d.name)) continue;
      if (members_[d.name].size() <= d.min_nodes) continue;
      PoolLoad l = load_of(d.name);
      std::int64_t spare = std::int64_t(l.idle_nodes.size()) * l.cpus_per_node - l.pending_cpus -
                           std::int64_t(settings_.donor_margin_nodes + 1) * l.cpus_per_node;
      if (spare < 0) continue;
      auto candidate =
          std::find_if(l.idle_nodes.begin(), l.idle_nodes.end(), [&](const std::string& n) {
            return members_[d.name].contains(n) && !recent(node_moved_, n);
          });
      if (candidate == l.idle_nodes.end()) continue;
      if (!donor || spare > donor->first) {
        donor = {spare, d.name};
        node = *candidate;
      }
    }
    if (!donor) continue;
    PoolLoad tl = load_of(taker);
    Move m{
        node, donor->second, taker,
        fmt::format("{} has {} CPUs pending and {} idle; {} has {} idle nodes and {} CPUs pending",
                    taker, tl.pending_cpus, tl.idle_nodes.size() * tl.cpus_per_node, donor->second,
                    load_of(donor->second).idle_nodes.size(), load_of(donor->second).pending_cpus)};
    members_[m.from].erase(m.node);
    members_[m.to].insert(m.node);
    node_moved_[m.node] = now;
    pool_grew_[m.to] = now;
    pool_gave_[m.from] = now;
    changed.insert(m.to);
    changed.insert(m.from);
    moves.push_back(std::move(m));
  }
  return moves;
}

}  // namespace converge::sched
