// SPDX-License-Identifier: GPL-2.0-or-later
//
// converge-cluster: a real local Slurm cluster (munged, slurmctld, N slurmd)
// with Converge's plugins, for development, tests and the demo.
#include "cluster_settings.h"
#include "local_cluster.h"

#include "converge/cli.h"
#include "converge/log.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

namespace {

using converge::cluster::ClusterSettings;
using converge::cluster::Installation;
using converge::cluster::LocalCluster;
namespace log = converge::log;

constexpr const char* kDescription =
    R"(A real Slurm cluster on this host: munged, slurmctld and N slurmd, with
Converge's plugins (sched/converge, select/converge, the SPANK plugin),
topology/tree over a generated switch tree and PMIx for srun --mpi=pmix.)";

struct Arguments {
  std::optional<std::string> config_file;
  std::optional<std::string> dir;
  std::optional<int> nodes;
  std::optional<int> cpus_per_node;
  std::optional<int> port_base;
  bool stock = false;
  std::optional<std::string> scheduler_parameters;
  std::optional<int> gpu_nodes;
  std::vector<std::string> granted;
  bool hosts = false;
  std::optional<std::string> uplink_rate, link_rate;
};

// An option whose value lands in `target` only when it is given.
template <typename T>
CLI::Option* optional_option(CLI::App* app, const std::string& name, std::optional<T>& target,
                             const std::string& help) {
  return app->add_option_function<T>(
      name, [&target](const T& v) { target = v; }, help);
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
  if (a.hosts) s.hosts = true;
  if (a.uplink_rate) s.uplink_rate = *a.uplink_rate;
  if (a.link_rate) s.link_rate = *a.link_rate;
  for (const auto& user : a.granted)
    if (std::find(s.granted.begin(), s.granted.end(), user) == s.granted.end())
      s.granted.push_back(user);
  s.validate();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  log::set_program_name("converge-cluster");
  Arguments args;
  CLI::App app{kDescription, "converge-cluster"};
  app.require_subcommand(1);
  app.fallthrough();  // --config and --dir also after the command
  optional_option(&app, "--config", args.config_file,
                  "converge.json whose \"cluster\" section gives defaults");
  optional_option(&app, "--dir", args.dir,
                  "state, configs and logs (default $CONVERGE_CLUSTER_DIR or "
                  "/var/tmp/converge-cluster)");
  auto* up =
      app.add_subcommand("up", "start whatever is not running (harmless on a running cluster)");
  optional_option(up, "-N,--nodes", args.nodes, "number of nodes (default 4)")
      ->check(CLI::Range(1, 64));
  optional_option(up, "--cpus-per-node", args.cpus_per_node, "CPUs each node offers (default 2)")
      ->check(CLI::Range(1, 1024));
  optional_option(up, "--port-base", args.port_base,
                  "slurmctld's port; the slurmd use the next ones (default 16817)")
      ->check(CLI::Range(1024, 65000));
  up->add_flag("--stock", args.stock, "Slurm's own sched/backfill and select/cons_tres");
  optional_option(up, "--scheduler-parameters", args.scheduler_parameters,
                  "slurm.conf SchedulerParameters (default batch_sched_delay=0)");
  optional_option(up, "--gpu-nodes", args.gpu_nodes,
                  "the last G nodes offer one GPU each (gres gpu, no device)")
      ->check(CLI::Range(0, 64));
  up->add_option("--grant", args.granted,
                 "a user who may ask for realtime priority and heavy isolation (repeatable; "
                 "written to the cluster's converge.json \"policy\")");
  up->add_flag("--hosts", args.hosts,
               "each node a host of its own: a network namespace with its own address, on "
               "bridges shaped like the switch tree");
  optional_option(up, "--uplink-rate", args.uplink_rate,
                  "with --hosts: the rate of each switch's uplink, as tc writes it (200mbit)");
  optional_option(up, "--link-rate", args.link_rate,
                  "with --hosts: the rate of each node's own link (1gbit)");
  auto* down = app.add_subcommand("down", "cancel all jobs and stop every process 'up' started");
  auto* status =
      app.add_subcommand("status", "daemons, plugins and nodes; exit status 0 if up, 3 if not");
  auto* links = app.add_subcommand(
      "links",
      "with --hosts: bytes through each switch uplink and node link, up and down the tree");
  bool links_json = false;
  links->add_flag("--json", links_json, "one JSON object instead of a table");
  app.add_subcommand("env", "print the SLURM_CONF line for this cluster's clients");

  return converge::cli::run("converge-cluster", [&] {
    converge::cli::parse(app, argc, argv);
    ClusterSettings first = resolve_settings(args, nullptr);
    LocalCluster cluster(first.dir, Installation::locate());
    if (up->parsed()) {
      // Flags given now override; otherwise a running cluster keeps its shape.
      cluster.up(resolve_settings(args, &cluster), std::cout);
      return 0;
    }
    if (down->parsed()) {
      cluster.down(std::cout);
      return 0;
    }
    if (status->parsed()) return cluster.status(std::cout) ? 0 : 3;
    if (links->parsed()) {
      cluster.links(std::cout, links_json);
      return 0;
    }
    std::cout << "export SLURM_CONF=" << resolve_settings(args, &cluster).slurm_conf() << '\n';
    return 0;
  });
}
