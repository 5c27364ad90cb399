// SPDX-License-Identifier: GPL-2.0-or-later
//
// How Converge's two slurmctld plugins call each other without a scan or a
// shared global: both live in slurmctld, loaded privately by Slurm, so one
// looks up the other's entry point in the already loaded .so beside it
// (dlopen with RTLD_NOLOAD). Where the other is not loaded (other daemons,
// Slurm's stock plugins) the calls do nothing.
//
//   select/converge -> sched/converge: a job ended, nodes should pull work.
//   sched/converge -> select/converge: which nodes a job of a class may not
//                     use (other pools, leaves isolated for heavy jobs).
//   select/converge -> sched/converge: which nodes hold a path's data (the
//                     locality map is sched/converge's policy), so a job
//                     lands near its data whichever scheduler starts it.
#pragma once

#include "common/slurm_internal.h"
#include "converge/job_request.h"

#include <optional>
#include <string>

#define CONVERGE_CAPACITY_FREED_SYMBOL "converge_sched_capacity_freed"
#define CONVERGE_CLOSED_NODES_SYMBOL "converge_select_closed_nodes"
#define CONVERGE_DATA_NODES_SYMBOL "converge_sched_data_nodes"

namespace converge::slurm {

// Cheap and non-blocking: safe to call with slurmctld's locks held.
void notify_capacity_freed();

// Sets in `closed` (node_record_count bits) the nodes a job of class `type`
// may not use now. Callers hold the node read lock. Sets nothing where
// select/converge is not loaded.
void closed_nodes(std::optional<JobType> type, bitstr_t* closed);

// Sets in `holders` (node_record_count bits) the nodes the locality map
// names for `path`; false (nothing set) where there are none or
// sched/converge is not loaded. Callers hold the node read lock.
bool data_nodes(const std::string& path, bitstr_t* holders);

}  // namespace converge::slurm

// The entry points, with C linkage (type: -1 none, else JobType's value).
extern "C" {
void converge_sched_capacity_freed(void);
void converge_select_closed_nodes(int type, bitstr_t* closed);
int converge_sched_data_nodes(const char* path, bitstr_t* holders);
}
