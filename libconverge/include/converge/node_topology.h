// SPDX-License-Identifier: GPL-2.0-or-later
//
// This node's hardware as hwloc sees it: packages, NUMA nodes, cores and
// their hardware threads, caches, NICs and GPUs. Used for binding services
// and workers, and printed by converge-topo.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace converge {

struct CoreInfo {
  unsigned logical_index = 0;
  int package = -1;           // logical index of the package, -1 if unknown
  int numa = -1;              // logical index of the NUMA node, -1 if unknown
  std::vector<unsigned> pus;  // OS indices of its hardware threads
};

struct NumaInfo {
  unsigned logical_index = 0;
  unsigned os_index = 0;
  std::uint64_t memory_bytes = 0;
  std::vector<unsigned> cores;  // logical core indices
};

struct PackageInfo {
  unsigned logical_index = 0;
  std::vector<unsigned> numa_nodes;
  std::vector<unsigned> cores;
};

struct CacheInfo {
  int level = 0;
  std::string kind;  // "unified", "data", "instruction"
  std::uint64_t size_bytes = 0;
  unsigned shared_by_pus = 0;
};

struct DeviceInfo {
  std::string name;     // OS name: eth0, mlx5_0, cuda0, ...
  std::string kind;     // "network", "openfabrics", "gpu", "coprocessor"
  std::string pci_bus;  // "0000:3b:00.0" or empty
  int numa = -1;        // nearest NUMA node, -1 if unknown
};

struct NodeTopology {
  std::string hostname;
  std::vector<PackageInfo> packages;
  std::vector<NumaInfo> numa_nodes;
  std::vector<CoreInfo> cores;
  std::vector<CacheInfo> caches;  // one entry per distinct (level, kind, size)
  std::vector<DeviceInfo> nics;
  std::vector<DeviceInfo> gpus;
  unsigned pu_count = 0;

  // Reads the machine this process runs on (I/O devices included).
  static NodeTopology discover();
  // Builds from an hwloc synthetic description ("package:2 numa:1 core:4 pu:2").
  static NodeTopology synthetic(const std::string& description);

  nlohmann::json to_json() const;
};

}  // namespace converge
