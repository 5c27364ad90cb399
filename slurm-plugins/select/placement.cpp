// SPDX-License-Identifier: GPL-2.0-or-later
#include "placement.h"

#include "common/job_record.h"
#include "common/node_state.h"
#include "converge/log.h"
#include "converge/sched/pool_features.h"

#include <set>

namespace converge::slurm {
namespace {

namespace log = converge::log;

std::string conf_path(const char* name) {
  char* path = get_extra_conf_path(const_cast<char*>(name));
  std::string out = path ? path : "";
  xfree(path);
  return out;
}

}  // namespace

std::vector<std::string> node_names_of(bitstr_t* nodes) {
  std::vector<std::string> out;
  if (!nodes) return out;
  for (int i = 0; i < node_record_count; ++i) {
    if (bit_test(nodes, i) && node_record_table_ptr[i])
      out.emplace_back(node_record_table_ptr[i]->name);
  }
  return out;
}

void Placement::load_topology() {
  std::string path = conf_path("topology.conf");
  std::optional<SwitchTree> tree;
  try {
    tree = SwitchTree::load_file(path);
    log::info("placement by the switch tree of {} ({} switches)", path, tree->switches().size());
  } catch (const std::exception& e) {
    log::warning("no placement by topology: {}", e.what());
  }
  std::lock_guard lock(mutex_);
  tree_ = std::move(tree);
}

void Placement::close_nodes(std::uint32_t job_id, std::optional<JobType> type,
                            bitstr_t* closed) const {
  for (int i = 0; i < node_record_count; ++i) {
    const node_record_t* node = node_record_table_ptr[i];
    if (!node) continue;
    auto pool = sched::pool_in_features(node->features_act ? node->features_act
                                        : node->features   ? node->features
                                                           : "");
    if (!sched::pool_admits(pool, type)) bit_set(closed, i);
  }
  std::lock_guard lock(mutex_);
  if (isolation_.empty()) return;
  for (const auto& name : isolation_.blocked_for(job_id)) {
    if (node_record_t* node = find_node_record(const_cast<char*>(name.c_str())))
      bit_set(closed, node->index);
  }
}

bitstr_t* Placement::preferred_nodes(const JobRequest& request, bitstr_t* usable,
                                     std::uint32_t node_count, sched::NodeChoice* choice) const {
  std::lock_guard lock(mutex_);
  if (!tree_ || !usable || node_count == 0) return nullptr;
  std::set<std::string> available;
  for (int i = 0; i < node_record_count; ++i) {
    const node_record_t* node = node_record_table_ptr[i];
    if (node && bit_test(usable, i) && node_is_idle(node)) available.insert(node->name);
  }
  sched::NodeRequest want{node_count, request.comm == CommPattern::heavy};
  auto chosen = sched::choose_nodes(*tree_, available, want);
  if (!chosen) return nullptr;
  bitstr_t* out = bit_alloc(node_record_count);
  for (const auto& name : chosen->nodes) {
    if (node_record_t* node = find_node_record(const_cast<char*>(name.c_str())))
      bit_set(out, node->index);
  }
  if (choice) *choice = *chosen;
  return out;
}

void Placement::job_started(const job_record_t* job) {
  if (!job || !job->node_bitmap) return;
  if (job_request_of(job).comm != CommPattern::heavy) return;
  auto nodes = node_names_of(job->node_bitmap);
  std::lock_guard lock(mutex_);
  if (!tree_) return;
  isolation_.claim(job->job_id, nodes, *tree_);
}

void Placement::job_ended(std::uint32_t job_id) {
  std::lock_guard lock(mutex_);
  isolation_.release(job_id);
}

void Placement::restore(List jobs) {
  {
    std::lock_guard lock(mutex_);
    isolation_.clear();
  }
  if (!jobs) return;
  ListIterator it = list_iterator_create(jobs);
  while (auto* job = static_cast<job_record_t*>(list_next(it))) {
    if (IS_JOB_RUNNING(job) || IS_JOB_SUSPENDED(job)) job_started(job);
  }
  list_iterator_destroy(it);
}

unsigned Placement::leaf_switches(bitstr_t* nodes) const {
  std::lock_guard lock(mutex_);
  if (!tree_) return 0;
  return sched::leaf_switches_of(*tree_, node_names_of(nodes));
}

}  // namespace converge::slurm
