// SPDX-License-Identifier: GPL-2.0-or-later
//
// The one place plugins include Slurm's internal headers from. They are C,
// so they are wrapped in extern "C"; their function-like logging macros
// (info, verbose, debug) would rewrite converge::log calls, so they are
// removed: plugins log through converge::log, which the sink routes to Slurm.
#pragma once

// Slurm's macros glue a parameter to a string ("%s "fmt), which C++11 reads
// as a literal suffix: GCC warns, clang (clang-tidy) stops.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wreserved-user-defined-literal"
#endif
extern "C" {
#include "src/common/job_resources.h"
#include "src/common/log.h"
#include "src/common/plugin.h"
#include "src/common/read_config.h"
#include "src/common/run_in_daemon.h"
#include "src/common/select.h"
#include "src/common/slurm_protocol_defs.h"
#include "src/common/xmalloc.h"
#include "src/common/xstring.h"
#include "src/slurmctld/job_scheduler.h"
#include "src/slurmctld/locks.h"
#include "src/slurmctld/node_scheduler.h"
#include "src/slurmctld/slurmctld.h"
#include "src/slurmctld/srun_comm.h"
#include "src/slurmctld/state_save.h"
}
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

#undef info
#undef verbose
#undef debug
#undef debug2
#undef debug3
#undef debug4
#undef debug5

#define CONVERGE_EXPORT extern "C" __attribute__((visibility("default")))
