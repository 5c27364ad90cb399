// SPDX-License-Identifier: GPL-2.0-or-later
#include "pool_agent.h"

#include "common/controller_lock.h"
#include "common/job_record.h"
#include "common/node_state.h"
#include "common/slurm_internal.h"
#include "converge/log.h"
#include "converge/sched/pool_features.h"

#include <map>
#include <set>

namespace converge::slurm {
namespace {

namespace log = converge::log;

const char* features_of(const node_record_t* node) {
  return node->features_act ? node->features_act : node->features ? node->features : "";
}

// Sets a node's features as `scontrol update NodeName=.. Features=..` does.
// Caller holds the job, node and partition write locks.
bool set_features(node_record_t* node, const std::string& features) {
  auto* msg = static_cast<update_node_msg_t*>(xmalloc(sizeof(update_node_msg_t)));
  slurm_init_update_node_msg(msg);
  msg->node_names = xstrdup(node->name);
  msg->features = xstrdup(features.c_str());
  msg->features_act = xstrdup(features.c_str());
  int rc = update_node(msg, 0);
  slurm_free_update_node_msg(msg);
  if (rc != SLURM_SUCCESS)
    log::error("pools: cannot set features \"{}\" on {}: {}", features, node->name,
               slurm_strerror(rc));
  return rc == SLURM_SUCCESS;
}

}  // namespace

void PoolAgent::configure(const sched::PoolSettings& settings, const std::string& text) {
  std::lock_guard lock(mutex_);
  if (text == text_) return;  // unchanged: keep the moves made so far
  text_ = text;
  pending_ = std::make_unique<sched::PoolSettings>(settings);
}

void PoolAgent::take_settings() {
  if (!pending_) return;
  sched::PoolSettings start = std::move(*pending_);
  pending_.reset();
  if (start.pools.empty()) {
    manager_.reset();
    log::info("pools: none configured; every node serves every class");
    return;
  }
  std::map<std::string, std::set<std::string>> current;
  ControllerLock node_read(kNodeRead);
  for (const auto& p : start.pools) {
    for (const auto& name : p.nodes) {
      if (!find_node_record(const_cast<char*>(name.c_str()))) {
        node_read.unlock();
        log::error("pools: node {} of pool {} is not in slurm.conf; keeping the previous pools",
                   name, p.name);
        return;
      }
    }
  }
  for (int i = 0; i < node_record_count; ++i) {
    const node_record_t* node = node_record_table_ptr[i];
    if (!node) continue;
    if (auto pool = sched::pool_in_features(features_of(node)))
      current[std::string(to_string(*pool))].insert(node->name);
  }
  node_read.unlock();
  bool kept = start.adopt(current);
  manager_ = std::make_unique<sched::PoolManager>(start);
  for (const auto& p : start.pools) {
    log::info("pools: {} has {} nodes (min {}, max {}){}", p.name, p.nodes.size(), p.min_nodes,
              p.max_nodes ? std::to_string(p.max_nodes) : "none",
              kept ? ", as the nodes' features had it" : "");
  }
}

void PoolAgent::sync_features() {
  // Most rounds nothing differs: a read lock tells.
  std::map<int, std::string> wanted;  // node index -> its new feature list
  {
    ControllerLock node_read(kNodeRead);
    for (int i = 0; i < node_record_count; ++i) {
      const node_record_t* node = node_record_table_ptr[i];
      if (!node) continue;
      std::optional<JobType> pool;
      if (manager_) {
        if (auto name = manager_->pool_of_node(node->name)) pool = parse_job_type(*name);
      }
      if (sched::pool_in_features(features_of(node)) != pool)
        wanted[i] = sched::with_pool_feature(features_of(node), pool);
    }
  }
  if (wanted.empty()) return;
  {
    ControllerLock write({NO_LOCK, WRITE_LOCK, WRITE_LOCK, WRITE_LOCK, READ_LOCK});
    for (const auto& [index, features] : wanted) {
      if (index < node_record_count && node_record_table_ptr[index])
        set_features(node_record_table_ptr[index], features);
    }
  }
  schedule_node_save();
}

int PoolAgent::tick() {
  std::lock_guard lock(mutex_);
  take_settings();
  sync_features();
  if (!manager_) return 0;
  // Load: pending CPUs per class, idle members per pool.
  std::map<std::string, sched::PoolLoad> load;
  ControllerLock read(kJobAndNodeRead);
  for (const auto& [pool, members] : manager_->members()) {
    sched::PoolLoad& l = load[pool];
    for (const auto& name : members) {
      node_record_t* node = find_node_record(const_cast<char*>(name.c_str()));
      if (!node) continue;
      l.cpus_per_node = std::max<std::uint32_t>(l.cpus_per_node, node->cpus);
      if (node_is_idle(node)) l.idle_nodes.push_back(name);
    }
  }
  ListIterator it = list_iterator_create(job_list);
  std::time_t now = time(nullptr);
  while (auto* job = static_cast<job_record_t*>(list_next(it))) {
    if (!IS_JOB_PENDING(job) || job->priority == 0 || !job->details) continue;
    if (job->details->begin_time > now || job->details->dependency) continue;
    auto request = job_request_of(job);
    if (!request.type) continue;
    auto pool = manager_->pool_for(*request.type);
    if (!pool) continue;
    auto& l = load[*pool];
    l.pending_cpus += std::max<std::uint32_t>(job->details->min_cpus, 1);
    l.widest_pending_nodes = std::max(l.widest_pending_nodes, job->details->min_nodes);
  }
  list_iterator_destroy(it);
  read.unlock();

  load_.clear();
  for (const auto& [pool, l] : load) {
    load_[pool].pending_cpus = l.pending_cpus;
    load_[pool].idle_nodes = l.idle_nodes.size();
  }

  auto moves = manager_->rebalance(load, sched::PoolManager::Clock::now());
  for (const auto& m : moves) {
    log::info("pools: {} moved from {} to {}: {}", m.node, m.from, m.to, m.reason);
    recent_.push_front({m, time(nullptr)});
    if (recent_.size() > 20) recent_.pop_back();
  }
  if (!moves.empty()) sync_features();
  return static_cast<int>(moves.size());
}

void PoolAgent::add_status(sched::SchedulerStatus& status) const {
  std::lock_guard lock(mutex_);
  if (!manager_) return;
  for (const auto& p : manager_->settings().pools) {
    const auto& members = manager_->members().at(p.name);
    auto& pool = status.pools[p.name];
    pool.nodes.assign(members.begin(), members.end());
    pool.min_nodes = p.min_nodes;
    pool.max_nodes = p.max_nodes;
    if (auto l = load_.find(p.name); l != load_.end()) {
      pool.pending_cpus = l->second.pending_cpus;
      pool.idle_nodes = l->second.idle_nodes;
    }
  }
  for (const auto& r : recent_)
    status.moves.push_back({r.move.node, r.move.from, r.move.to, r.move.reason, r.at});
}

}  // namespace converge::slurm
