// SPDX-License-Identifier: GPL-2.0-or-later
//
// Where FinD's workers run: one per core (hwloc, without I/O discovery),
// each with its NUMA node, so thieves can prefer victims on their own node
// and workers can be pinned.
#pragma once

#include <vector>

namespace topo::find {

struct CoreSlot {
  int os_cpu = -1;  // first hardware thread of the core
  int numa = 0;     // logical index of its NUMA node
};

// This machine's cores in hwloc's logical order (at least one entry).
std::vector<CoreSlot> machine_cores();

// Pins the calling thread to `cpu`; false if hwloc refuses.
bool pin_current_thread(int os_cpu);

}  // namespace topo::find
