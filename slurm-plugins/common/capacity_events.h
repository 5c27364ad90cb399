// SPDX-License-Identifier: GPL-2.0-or-later
//
// How select/converge tells sched/converge that capacity freed (a job ended)
// without a scan: both plugins live in slurmctld, loaded privately by Slurm,
// so select/converge looks up sched/converge's entry point in the already
// loaded sched_converge.so beside it (dlopen with RTLD_NOLOAD). Where
// sched/converge is not loaded (other daemons, stock schedulers) this does
// nothing.
#pragma once

#define CONVERGE_CAPACITY_FREED_SYMBOL "converge_sched_capacity_freed"

namespace converge::slurm {

// Cheap and non-blocking: safe to call with slurmctld's locks held.
void notify_capacity_freed();

}  // namespace converge::slurm
