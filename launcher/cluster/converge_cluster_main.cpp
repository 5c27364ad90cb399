// SPDX-License-Identifier: GPL-2.0-or-later
//
// converge-cluster: a real local Slurm cluster (munged, slurmctld, N slurmd)
// with Converge's plugins, for development, tests and the demo.
#include "cluster_settings.h"
#include "local_cluster.h"

#include "converge/log.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>

namespace {

using converge::cluster::ClusterSettings;
using converge::cluster::Installation;
using converge::cluster::LocalCluster;
namespace log = converge::log;

constexpr const char* kUsage =
    R"(usage: converge-cluster [--config FILE] [--dir DIR] COMMAND [OPTIONS]

A real Slurm cluster on this host: munged, slurmctld and N slurmd, with
Converge's plugins (sched/converge, select/converge, the SPANK plugin),
topology/tree over a generated switch tree and PMIx for srun --mpi=pmix.

commands:
  up       start whatever is not running (harmless on a running cluster)
             --nodes N          number of nodes (default 4, at most 64)
             --cpus-per-node C  CPUs each node offers (default 2)
             --port-base P      slurmctld port; slurmd use P+1.. (default 16817)
             --stock            Slurm's own sched/backfill and select/cons_tres
             --scheduler-parameters P   slurm.conf SchedulerParameters (batch_sched_delay=0)
             --gpu-nodes G      the last G nodes offer one GPU each (gres gpu, no device)
  down     cancel all jobs and stop every process 'up' started
  status   daemons, plugins and nodes; exit status 0 if up, 3 if not
  env      print the SLURM_CONF line for this cluster's clients

options:
  --config FILE   converge.json whose "cluster" section gives defaults
  --dir DIR       state, configs and logs (default $CONVERGE_CLUSTER_DIR or
                  /var/tmp/converge-cluster)
  --help          this text
)";

struct Arguments {
  std::string command;
  std::optional<std::string> config_file;
  std::optional<std::string> dir;
  std::optional<int> nodes;
  std::optional<int> cpus_per_node;
  std::optional<int> port_base;
  bool stock = false;
  std::optional<std::string> scheduler_parameters;
  std::optional<int> gpu_nodes;
};

int parse_int(const std::string& flag, const char* text) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(text, &end, 10);
  if (errno || *end || end == text || v < 0 || v > 1'000'000) {
    throw converge::config::Error(fmt::format("{} expects a number, got \"{}\"", flag, text));
  }
  return static_cast<int>(v);
}

Arguments parse_arguments(int argc, char** argv) {
  Arguments a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) throw converge::config::Error(fmt::format("{} needs a value", arg));
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      a.command = "help";
    } else if (arg == "--config") {
      a.config_file = value();
    } else if (arg == "--dir") {
      a.dir = value();
    } else if (arg == "--nodes" || arg == "-N") {
      a.nodes = parse_int(arg, value());
    } else if (arg == "--cpus-per-node") {
      a.cpus_per_node = parse_int(arg, value());
    } else if (arg == "--port-base") {
      a.port_base = parse_int(arg, value());
    } else if (arg == "--stock") {
      a.stock = true;
    } else if (arg == "--scheduler-parameters") {
      a.scheduler_parameters = value();
    } else if (arg == "--gpu-nodes") {
      a.gpu_nodes = parse_int(arg, value());
    } else if (!arg.empty() && arg[0] != '-' && a.command.empty()) {
      a.command = arg;
    } else {
      throw converge::config::Error(fmt::format("unknown argument \"{}\" (see --help)", arg));
    }
  }
  return a;
}

std::string absolute(const std::string& path) {
  return std::filesystem::absolute(path).lexically_normal().string();
}

// Defaults < converge.json's "cluster" < the running cluster's shape < flags.
ClusterSettings resolve_settings(const Arguments& a, const LocalCluster* cluster) {
  ClusterSettings s;
  if (a.config_file) {
    auto json = converge::config::load_file(*a.config_file);
    converge::config::Node root(json, *a.config_file);
    if (auto section = root.find("cluster")) s.apply(*section);
  }
  if (const char* env = std::getenv("CONVERGE_CLUSTER_DIR"); env && *env) s.dir = env;
  if (a.dir) s.dir = *a.dir;
  s.dir = absolute(s.dir);
  if (cluster) {
    if (auto recorded = cluster->recorded_settings()) {
      std::string dir = s.dir;
      s = *recorded;
      s.dir = dir;
    }
  }
  if (a.nodes) s.nodes = *a.nodes;
  if (a.cpus_per_node) s.cpus_per_node = *a.cpus_per_node;
  if (a.port_base) s.controller_port = *a.port_base;
  if (a.stock) s.stock = true;
  if (a.scheduler_parameters) s.scheduler_parameters = *a.scheduler_parameters;
  if (a.gpu_nodes) s.gpu_nodes = *a.gpu_nodes;
  s.validate();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  log::set_program_name("converge-cluster");
  try {
    Arguments args = parse_arguments(argc, argv);
    if (args.command == "help") {
      std::cout << kUsage;
      return 0;
    }
    if (args.command.empty())
      throw converge::config::Error("no command given (up, down, status, env; see --help)");
    ClusterSettings first = resolve_settings(args, nullptr);
    LocalCluster cluster(first.dir, Installation::locate());
    if (args.command == "up") {
      // Flags given now override; otherwise a running cluster keeps its shape.
      cluster.up(resolve_settings(args, &cluster), std::cout);
      return 0;
    }
    if (args.command == "down") {
      cluster.down(std::cout);
      return 0;
    }
    if (args.command == "status") return cluster.status(std::cout) ? 0 : 3;
    if (args.command == "env") {
      std::cout << "export SLURM_CONF=" << resolve_settings(args, &cluster).slurm_conf() << '\n';
      return 0;
    }
    throw converge::config::Error(
        fmt::format("unknown command \"{}\" (up, down, status, env; see --help)", args.command));
  } catch (const std::exception& e) {
    log::error("{}", e.what());
    return 1;
  }
}
