// SPDX-License-Identifier: GPL-2.0-or-later
//
// The Context every Topo MPI test shares: MPI_COMM_WORLD and a FinD
// scheduler of two workers (pinning off: ranks share this host's cores).
#pragma once

#include "topo/core/context.h"
#include "topo/find/scheduler.h"

#include <mpi.h>

namespace topo::test {

inline topo::find::Scheduler& scheduler() {
  static topo::find::Scheduler s({2, false, true});
  return s;
}

inline topo::Context& context() {
  static topo::Context ctx(MPI_COMM_WORLD, scheduler());
  return ctx;
}

}  // namespace topo::test
