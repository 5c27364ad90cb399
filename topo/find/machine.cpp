// SPDX-License-Identifier: GPL-2.0-or-later
#include "topo/find/machine.h"

#include <hwloc.h>

#include <memory>
#include <thread>

namespace topo::find {
namespace {

struct TopologyDeleter {
  void operator()(hwloc_topology_t t) const { hwloc_topology_destroy(t); }
};
using Topology = std::unique_ptr<std::remove_pointer_t<hwloc_topology_t>, TopologyDeleter>;

Topology load() {
  hwloc_topology_t t = nullptr;
  if (hwloc_topology_init(&t) != 0) return nullptr;
  Topology topology(t);
  if (hwloc_topology_load(t) != 0) return nullptr;  // no I/O devices: fast
  return topology;
}

}  // namespace

std::vector<CoreSlot> machine_cores() {
  std::vector<CoreSlot> out;
  Topology topology = load();
  if (topology) {
    int cores = hwloc_get_nbobjs_by_type(topology.get(), HWLOC_OBJ_CORE);
    for (int i = 0; i < cores; ++i) {
      hwloc_obj_t core = hwloc_get_obj_by_type(topology.get(), HWLOC_OBJ_CORE, i);
      CoreSlot slot;
      slot.os_cpu = hwloc_bitmap_first(core->cpuset);
      hwloc_obj_t numa = nullptr;
      // The NUMA node whose CPUs include this core's.
      while ((numa = hwloc_get_next_obj_by_type(topology.get(), HWLOC_OBJ_NUMANODE, numa))) {
        if (hwloc_bitmap_isincluded(core->cpuset, numa->cpuset)) {
          slot.numa = static_cast<int>(numa->logical_index);
          break;
        }
      }
      out.push_back(slot);
    }
  }
  if (out.empty()) {
    unsigned n = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < n; ++i) out.push_back({static_cast<int>(i), 0});
  }
  return out;
}

bool pin_current_thread(int os_cpu) {
  if (os_cpu < 0) return false;
  Topology topology = load();
  if (!topology) return false;
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  hwloc_bitmap_only(set, static_cast<unsigned>(os_cpu));
  int rc = hwloc_set_cpubind(topology.get(), set, HWLOC_CPUBIND_THREAD);
  hwloc_bitmap_free(set);
  return rc == 0;
}

}  // namespace topo::find
