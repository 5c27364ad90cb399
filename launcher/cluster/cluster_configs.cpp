// SPDX-License-Identifier: GPL-2.0-or-later
#include "cluster_configs.h"

#include "virtual_network.h"

#include "converge/config.h"
#include "converge/process.h"
#include "converge/switch_tree.h"
#include "converge/text_template.h"

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace fs = std::filesystem;

namespace converge::cluster {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ClusterError(fmt::format("cannot read {}", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out) throw ClusterError(fmt::format("cannot write {}", path));
}

std::string short_hostname() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::string name = host;
  return name.substr(0, name.find('.'));
}

}  // namespace

void write_cluster_configs(const ClusterSettings& s, const std::string& dir,
                           const Installation& installation) {
  for (const char* sub : {"etc", "state", "spool", "tmp", "log", "run"})
    fs::create_directories(dir + "/" + sub);
  auto names = s.node_names();
  for (const auto& n : names) {
    fs::create_directories(dir + "/spool/" + n);
    fs::create_directories(dir + "/tmp/" + n);
  }

  // Slurm's own plugins live next to libslurmfull; ours come first.
  std::string slurm_plugins = CONVERGE_SLURM_PLUGINDIR;
  // Plain nodes first, then the GPU nodes: one NodeName line per group
  // (loopback nodes share 127.0.0.1), or per node (hosts have an address each).
  std::string node_lines, gres_lines;
  const auto network = NetworkPlan::for_cluster(s.controller_port, names);
  auto add_line = [&](int first, int last, bool gpu) {
    std::string address = s.hosts ? network.address_of(std::size_t(first - 1)) : "127.0.0.1";
    std::string names =
        first == last ? fmt::format("n{}", first) : fmt::format("n[{}-{}]", first, last);
    std::string ports =
        first == last ? std::to_string(s.slurmd_port(first - 1))
                      : fmt::format("[{}-{}]", s.slurmd_port(first - 1), s.slurmd_port(last - 1));
    node_lines += fmt::format(
        "NodeName={} NodeHostname=localhost NodeAddr={} Port={} CPUs={} Boards=1 "
        "SocketsPerBoard=1 CoresPerSocket={} ThreadsPerCore=1 RealMemory={}{} State=UNKNOWN\n",
        names, address, ports, s.cpus_per_node, s.cpus_per_node, s.memory_mb_per_node,
        gpu ? " Gres=gpu:1" : "");
    // Virtual GPUs: counted and allocated by Slurm; gres/gpu wants a device
    // file, and with task/none nothing opens it.
    if (gpu) gres_lines += fmt::format("NodeName={} Name=gpu Count=1 File=/dev/null\n", names);
  };
  auto add_group = [&](int first, int last, bool gpu) {
    if (first > last) return;
    if (!s.hosts) return add_line(first, last, gpu);
    for (int n = first; n <= last; ++n) add_line(n, n, gpu);
  };
  add_group(1, s.nodes - s.gpu_nodes, false);
  add_group(s.nodes - s.gpu_nodes + 1, s.nodes, true);
  std::map<std::string, std::string> values{
      {"NODE_COUNT", std::to_string(s.nodes)},
      {"MODE", s.stock ? "Slurm's stock" : "Converge"},
      {"CONTROL_HOST", short_hostname()},
      {"CONTROL_ADDR", s.hosts ? network.controller_address() : "127.0.0.1"},
      {"CONTROLLER_PORT", std::to_string(s.controller_port)},
      {"DIR", dir},
      {"LOG_LEVEL", s.log_level},
      {"PLUGIN_DIR", installation.plugin_dir + ":" + slurm_plugins},
      {"SCHEDULER_TYPE", s.stock ? "sched/backfill" : "sched/converge"},
      {"SELECT_TYPE", s.stock ? "select/cons_tres" : "select/converge"},
      {"JOB_SUBMIT_PLUGINS", s.stock ? "" : "JobSubmitPlugins=converge"},
      {"NODE_LINES", node_lines},
      {"SPANK_PLUGIN", installation.plugin_dir + "/spank_converge.so"},
      {"BIN_DIR", process::executable_dir()},
      {"SCHEDULER_PARAMETERS",
       s.scheduler_parameters.empty() ? "" : "SchedulerParameters=" + s.scheduler_parameters},
  };
  for (const char* name : {"slurm.conf", "plugstack.conf"}) {
    std::string tmpl = installation.share_dir + "/local-cluster/" + name + ".in";
    write_file(dir + "/etc/" + name, render_template(read_file(tmpl), values, tmpl));
  }
  write_file(dir + "/etc/topology.conf", SwitchTree::for_virtual_cluster(names).to_conf());
  write_file(dir + "/etc/gres.conf",
             "# Written by converge-cluster: virtual GPUs of the local cluster.\n" + gres_lines);
  // sched/converge reads converge.json from slurm.conf's directory.
  std::string site_config = installation.share_dir + "/converge.json";
  std::string cluster_config = dir + "/etc/converge.json";
  if (fs::exists(site_config) || fs::exists(cluster_config)) {
    // An earlier run's file keeps its edits; each virtual cluster keeps its
    // jobs' service files apart, since job ids of different clusters collide.
    auto json = config::load_file(fs::exists(cluster_config) ? cluster_config : site_config);
    json["launcher"]["job_dir"] = dir + "/jobs/%j";
    // Services listen on their node's own address (hosts) or on loopback.
    json["launcher"]["listen_host"] = s.hosts ? "auto" : "127.0.0.1";
    if (!s.granted.empty()) {
      json["policy"]["realtime"]["users"] = s.granted;
      json["policy"]["heavy"]["users"] = s.granted;
    }
    write_file(cluster_config, json.dump(2) + "\n");
  }
  write_file(dir + "/cluster.json", s.to_json().dump(2) + "\n");
}

}  // namespace converge::cluster
