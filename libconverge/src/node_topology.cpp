// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/node_topology.h"

#include <fmt/format.h>
#include <hwloc.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <stdexcept>
#include <tuple>

namespace converge {
namespace {

struct TopologyDeleter {
  void operator()(hwloc_topology_t t) const { hwloc_topology_destroy(t); }
};
using TopologyHandle = std::unique_ptr<hwloc_topology, TopologyDeleter>;

TopologyHandle make_topology() {
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) throw std::runtime_error("hwloc_topology_init failed");
  return TopologyHandle(raw);
}

int ancestor_index(hwloc_obj_t obj, hwloc_obj_type_t type) {
  hwloc_obj_t a = hwloc_get_ancestor_obj_by_type(nullptr, type, obj);
  return a ? static_cast<int>(a->logical_index) : -1;
}

// NUMA nodes are memory children in hwloc 2: find the one whose cpuset covers obj.
int numa_of(hwloc_topology_t topo, hwloc_const_cpuset_t cpuset) {
  int count = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
  for (int i = 0; i < count; ++i) {
    hwloc_obj_t numa = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, i);
    if (hwloc_bitmap_isincluded(cpuset, numa->cpuset)) return static_cast<int>(numa->logical_index);
  }
  return -1;
}

std::string_view cache_kind(hwloc_obj_cache_type_t t) {
  switch (t) {
    case HWLOC_OBJ_CACHE_DATA:
      return "data";
    case HWLOC_OBJ_CACHE_INSTRUCTION:
      return "instruction";
    default:
      return "unified";
  }
}

NodeTopology read(hwloc_topology_t topo) {
  NodeTopology out;
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  out.hostname = host;
  out.pu_count = static_cast<unsigned>(hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU));

  int npackages = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
  for (int i = 0; i < npackages; ++i) out.packages.push_back({static_cast<unsigned>(i), {}, {}});
  int nnuma = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
  for (int i = 0; i < nnuma; ++i) {
    hwloc_obj_t numa = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, i);
    out.numa_nodes.push_back({numa->logical_index,
                              numa->os_index,
                              numa->attr ? numa->attr->numanode.local_memory : 0,
                              {}});
    int pkg = ancestor_index(numa, HWLOC_OBJ_PACKAGE);
    if (pkg >= 0 && pkg < npackages) out.packages[pkg].numa_nodes.push_back(numa->logical_index);
  }

  int ncores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
  for (int i = 0; i < ncores; ++i) {
    hwloc_obj_t core = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, i);
    CoreInfo info;
    info.logical_index = core->logical_index;
    info.package = ancestor_index(core, HWLOC_OBJ_PACKAGE);
    info.numa = numa_of(topo, core->cpuset);
    unsigned pu;
    hwloc_bitmap_foreach_begin(pu, core->cpuset) {
      info.pus.push_back(pu);
    }
    hwloc_bitmap_foreach_end();
    if (info.package >= 0 && info.package < npackages)
      out.packages[info.package].cores.push_back(i);
    if (info.numa >= 0 && info.numa < nnuma) out.numa_nodes[info.numa].cores.push_back(i);
    out.cores.push_back(std::move(info));
  }

  std::map<std::tuple<int, std::string, std::uint64_t, unsigned>, bool> seen;
  for (hwloc_obj_type_t type : {HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L1ICACHE, HWLOC_OBJ_L2CACHE,
                                HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L4CACHE, HWLOC_OBJ_L5CACHE}) {
    int n = hwloc_get_nbobjs_by_type(topo, type);
    for (int i = 0; i < n; ++i) {
      hwloc_obj_t c = hwloc_get_obj_by_type(topo, type, i);
      CacheInfo info{static_cast<int>(c->attr->cache.depth),
                     std::string(cache_kind(c->attr->cache.type)), c->attr->cache.size,
                     static_cast<unsigned>(hwloc_bitmap_weight(c->cpuset))};
      auto key = std::make_tuple(info.level, info.kind, info.size_bytes, info.shared_by_pus);
      if (seen.emplace(key, true).second) out.caches.push_back(info);
    }
  }

  for (hwloc_obj_t dev = hwloc_get_next_osdev(topo, nullptr); dev;
       dev = hwloc_get_next_osdev(topo, dev)) {
    DeviceInfo info;
    info.name = dev->name ? dev->name : "";
    hwloc_obj_t parent = hwloc_get_non_io_ancestor_obj(topo, dev);
    info.numa = parent ? numa_of(topo, parent->cpuset) : -1;
    for (hwloc_obj_t p = dev->parent; p; p = p->parent) {
      if (p->type == HWLOC_OBJ_PCI_DEVICE) {
        info.pci_bus = fmt::format("{:04x}:{:02x}:{:02x}.{:01x}", p->attr->pcidev.domain,
                                   p->attr->pcidev.bus, p->attr->pcidev.dev, p->attr->pcidev.func);
        break;
      }
    }
    switch (dev->attr->osdev.type) {
      case HWLOC_OBJ_OSDEV_NETWORK:
        info.kind = "network";
        out.nics.push_back(info);
        break;
      case HWLOC_OBJ_OSDEV_OPENFABRICS:
        info.kind = "openfabrics";
        out.nics.push_back(info);
        break;
      case HWLOC_OBJ_OSDEV_GPU:
        info.kind = "gpu";
        out.gpus.push_back(info);
        break;
      case HWLOC_OBJ_OSDEV_COPROC:
        info.kind = "coprocessor";
        out.gpus.push_back(info);
        break;
      default:
        break;
    }
  }
  return out;
}

}  // namespace

NodeTopology NodeTopology::discover() {
  TopologyHandle topo = make_topology();
  hwloc_topology_set_io_types_filter(topo.get(), HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
  if (hwloc_topology_load(topo.get()) != 0) throw std::runtime_error("hwloc_topology_load failed");
  return read(topo.get());
}

NodeTopology NodeTopology::synthetic(const std::string& description) {
  TopologyHandle topo = make_topology();
  if (hwloc_topology_set_synthetic(topo.get(), description.c_str()) != 0) {
    throw std::invalid_argument(fmt::format("bad synthetic topology \"{}\"", description));
  }
  if (hwloc_topology_load(topo.get()) != 0) throw std::runtime_error("hwloc_topology_load failed");
  NodeTopology out = read(topo.get());
  out.hostname = "synthetic";
  return out;
}

nlohmann::json NodeTopology::to_json() const {
  using nlohmann::json;
  json j;
  j["hostname"] = hostname;
  j["pus"] = pu_count;
  j["packages"] = json::array();
  for (const auto& p : packages) {
    j["packages"].push_back(
        {{"index", p.logical_index}, {"numa_nodes", p.numa_nodes}, {"cores", p.cores}});
  }
  j["numa_nodes"] = json::array();
  for (const auto& n : numa_nodes) {
    j["numa_nodes"].push_back({{"index", n.logical_index},
                               {"os_index", n.os_index},
                               {"memory_bytes", n.memory_bytes},
                               {"cores", n.cores}});
  }
  j["cores"] = json::array();
  for (const auto& c : cores) {
    j["cores"].push_back(
        {{"index", c.logical_index}, {"package", c.package}, {"numa", c.numa}, {"pus", c.pus}});
  }
  j["caches"] = json::array();
  for (const auto& c : caches) {
    j["caches"].push_back({{"level", c.level},
                           {"kind", c.kind},
                           {"size_bytes", c.size_bytes},
                           {"shared_by_pus", c.shared_by_pus}});
  }
  auto devices = [](const std::vector<DeviceInfo>& list) {
    json a = json::array();
    for (const auto& d : list) {
      a.push_back({{"name", d.name}, {"kind", d.kind}, {"pci_bus", d.pci_bus}, {"numa", d.numa}});
    }
    return a;
  };
  j["nics"] = devices(nics);
  j["gpus"] = devices(gpus);
  return j;
}

}  // namespace converge
