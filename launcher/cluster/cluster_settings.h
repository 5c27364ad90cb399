// SPDX-License-Identifier: GPL-2.0-or-later
//
// What a local virtual cluster looks like: how many nodes, their size, the
// ports, and whether Converge's or Slurm's stock plugins schedule it. Read
// from the "cluster" section of converge.json, then overridden by flags.
#pragma once

#include "converge/config.h"

#include <string>
#include <vector>

namespace converge::cluster {

struct ClusterSettings {
  std::string dir = "/var/tmp/converge-cluster";
  int nodes = 4;
  int cpus_per_node = 2;
  int memory_mb_per_node = 2048;
  int controller_port = 16817;       // slurmd of node i listens on controller_port + i
  bool stock = false;                // sched/backfill + select/cons_tres instead of Converge's
  std::string log_level = "info";    // SlurmctldDebug / SlurmdDebug
  std::string scheduler_parameters;  // slurm.conf SchedulerParameters, e.g. batch_sched_delay=0
  int gpu_nodes = 0;                 // the last N nodes offer one GPU each (GRES, no device)
  // Users that may ask for realtime priority and heavy isolation (converge.json's "policy").
  std::vector<std::string> granted;
  // Each node a host of its own: a network namespace with its own address
  // on bridges shaped like the switch tree (virtual_network.h).
  bool hosts = false;
  std::string uplink_rate;  // tc rate of switch uplinks ("200mbit"); empty: unlimited
  std::string link_rate;    // of each node's own link; empty: unlimited

  static constexpr int kMaxNodes = 64;

  std::vector<std::string> node_names() const;  // n1 .. nN
  int slurmd_port(int node_index) const { return controller_port + 1 + node_index; }
  std::string slurm_conf() const { return dir + "/etc/slurm.conf"; }

  // Applies converge.json's "cluster" section (unknown keys are errors).
  void apply(const config::Node& cluster);
  // Checks ranges; throws config::Error with a one-line reason.
  void validate() const;

  // The shape that must match for `up` to reuse a running cluster.
  bool same_shape(const ClusterSettings& other) const;

  config::Json to_json() const;
  static ClusterSettings from_json(const config::Json& json, const std::string& origin);
};

}  // namespace converge::cluster
