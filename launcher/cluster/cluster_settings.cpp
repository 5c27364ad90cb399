// SPDX-License-Identifier: GPL-2.0-or-later
#include "cluster_settings.h"

#include <fmt/format.h>

namespace converge::cluster {

std::vector<std::string> ClusterSettings::node_names() const {
  std::vector<std::string> names;
  for (int i = 1; i <= nodes; ++i) names.push_back(fmt::format("n{}", i));
  return names;
}

void ClusterSettings::apply(const config::Node& cluster) {
  cluster.allow_only({"dir", "nodes", "cpus_per_node", "memory_mb_per_node", "controller_port",
                      "stock", "log_level", "scheduler_parameters", "gpu_nodes", "granted", "hosts",
                      "uplink_rate", "link_rate"});
  if (auto v = cluster.find("dir")) dir = v->as_string();
  if (auto v = cluster.find("nodes")) nodes = static_cast<int>(v->as_int(1, kMaxNodes));
  if (auto v = cluster.find("cpus_per_node")) cpus_per_node = static_cast<int>(v->as_int(1, 1024));
  if (auto v = cluster.find("memory_mb_per_node")) {
    memory_mb_per_node = static_cast<int>(v->as_int(64, 1 << 24));
  }
  if (auto v = cluster.find("controller_port")) {
    controller_port = static_cast<int>(v->as_int(1024, 65535 - kMaxNodes - 1));
  }
  if (auto v = cluster.find("stock")) stock = v->as_bool();
  if (auto v = cluster.find("gpu_nodes")) gpu_nodes = static_cast<int>(v->as_int(0, kMaxNodes));
  if (auto v = cluster.find("scheduler_parameters")) scheduler_parameters = v->as_string();
  if (auto v = cluster.find("hosts")) hosts = v->as_bool();
  if (auto v = cluster.find("uplink_rate")) uplink_rate = v->as_string();
  if (auto v = cluster.find("link_rate")) link_rate = v->as_string();
  if (auto v = cluster.find("granted")) {
    granted.clear();
    for (const auto& e : v->elements()) granted.push_back(e.as_string());
  }
  if (auto v = cluster.find("log_level")) {
    log_level =
        v->as_enum({"quiet", "fatal", "error", "info", "verbose", "debug", "debug2", "debug3"});
  }
}

void ClusterSettings::validate() const {
  if (nodes < 1 || nodes > kMaxNodes) {
    throw config::Error(fmt::format("--nodes must be between 1 and {}, got {}", kMaxNodes, nodes));
  }
  if (controller_port < 1024 || controller_port + nodes >= 65536) {
    throw config::Error(
        fmt::format("--port-base {} leaves no room for {} slurmd ports", controller_port, nodes));
  }
  if (gpu_nodes < 0 || gpu_nodes > nodes) {
    throw config::Error(fmt::format("--gpu-nodes must be between 0 and the node count {}, got {}",
                                    nodes, gpu_nodes));
  }
  if (!hosts && !(uplink_rate.empty() && link_rate.empty()))
    throw config::Error("--uplink-rate and --link-rate need --hosts (links of their own)");
  if (dir.empty() || dir.front() != '/')
    throw config::Error("the cluster directory must be an absolute path");
}

bool ClusterSettings::same_shape(const ClusterSettings& o) const {
  return nodes == o.nodes && cpus_per_node == o.cpus_per_node &&
         memory_mb_per_node == o.memory_mb_per_node && controller_port == o.controller_port &&
         stock == o.stock && scheduler_parameters == o.scheduler_parameters &&
         gpu_nodes == o.gpu_nodes && hosts == o.hosts && uplink_rate == o.uplink_rate &&
         link_rate == o.link_rate;
}

config::Json ClusterSettings::to_json() const {
  return {{"dir", dir},
          {"nodes", nodes},
          {"cpus_per_node", cpus_per_node},
          {"memory_mb_per_node", memory_mb_per_node},
          {"controller_port", controller_port},
          {"stock", stock},
          {"log_level", log_level},
          {"scheduler_parameters", scheduler_parameters},
          {"gpu_nodes", gpu_nodes},
          {"granted", granted},
          {"hosts", hosts},
          {"uplink_rate", uplink_rate},
          {"link_rate", link_rate}};
}

ClusterSettings ClusterSettings::from_json(const config::Json& json, const std::string& origin) {
  ClusterSettings s;
  s.apply(config::Node(json, origin));
  return s;
}

}  // namespace converge::cluster
