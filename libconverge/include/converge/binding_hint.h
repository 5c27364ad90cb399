// SPDX-License-Identifier: GPL-2.0-or-later
//
// The binding hint a job's processes get on each node: the cores Slurm
// allocated to the job there (Slurm's numbering, which is hwloc's logical
// core order) and the NUMA nodes those cores belong to, so
// that runtimes (MPI, Topo's workers, services) can pin themselves without
// guessing. Exported by the SPANK plugin as CONVERGE_BIND_CORES and
// CONVERGE_BIND_NUMA.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace converge {

// "0-3,8,10-11" -> {0,1,2,3,8,10,11}; nullopt when malformed.
std::optional<std::set<unsigned>> parse_cpu_list(std::string_view list);
// The inverse, with ranges: {0,1,2,5} -> "0-2,5".
std::string format_cpu_list(const std::set<unsigned>& cpus);

struct BindingHint {
  std::string cores;  // cpu list
  std::string numa;   // cpu list of NUMA node numbers; empty if unknown
};

// `numa_of_core` maps a logical core index to its NUMA node.
BindingHint binding_hint(const std::set<unsigned>& cores,
                         const std::map<unsigned, unsigned>& numa_of_core);

// This machine's logical core -> NUMA node map, from /sys (cores ordered by
// package and core id, as hwloc orders them); empty if the kernel exposes no
// NUMA nodes. Cheap: no full topology discovery.
std::map<unsigned, unsigned> numa_of_cores();

}  // namespace converge
