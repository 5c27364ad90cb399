// SPDX-License-Identifier: GPL-2.0-or-later
//
// select/converge's placement policy, applied to Slurm's records: which
// nodes a job may use (its class's pool, no leaf isolated for another heavy
// job) and, among the idle ones, which the topology prefers (libconverge's
// choose_nodes on topology.conf's switch tree). Resource accounting stays
// with cons_tres, which is asked to place the job on the preferred nodes
// first and on everything it may use if that fails.
#pragma once

#include "common/slurm_internal.h"
#include "converge/job_request.h"
#include "converge/sched/isolation.h"
#include "converge/sched/node_choice.h"
#include "converge/switch_tree.h"

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace converge::slurm {

class Placement {
 public:
  // Reads topology.conf beside slurm.conf; without one (or with a bad one,
  // logged) placement by topology is off and everything else still works.
  void load_topology();

  // Sets in `closed` the nodes a job may not use now.
  void close_nodes(std::uint32_t job_id, std::optional<JobType> type, bitstr_t* closed) const;

  // The nodes the topology prefers for `job` among the idle nodes of
  // `usable`, or nullptr (no tree, not enough idle nodes). Caller frees.
  bitstr_t* preferred_nodes(const JobRequest& request, bitstr_t* usable, std::uint32_t node_count,
                            sched::NodeChoice* choice) const;

  void job_started(const job_record_t* job);  // a heavy job claims its leaves
  void job_ended(std::uint32_t job_id);
  void restore(List jobs);  // after a controller restart

  unsigned leaf_switches(bitstr_t* nodes) const;

 private:
  mutable std::mutex mutex_;
  std::optional<SwitchTree> tree_;
  sched::Isolation isolation_;
};

std::vector<std::string> node_names_of(bitstr_t* nodes);

}  // namespace converge::slurm
