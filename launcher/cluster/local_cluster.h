// SPDX-License-Identifier: GPL-2.0-or-later
//
// A real Slurm cluster on one host: munged, one slurmctld and N slurmd
// (`slurmd -N nX`), configured with Converge's plugins (or Slurm's stock ones)
// and a generated switch tree. Every daemon it starts is recorded by pid and
// start time under the cluster directory and carries CONVERGE_CLUSTER_DIR in
// its environment, so `down` stops exactly what `up` started, slurmstepd
// processes included.
#pragma once

#include "cluster_settings.h"
#include "virtual_network.h"
#include "converge/process.h"

#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace converge::cluster {

// A failure phrased for the user in one line.
class ClusterError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Installation {
  std::string plugin_dir;  // Converge's plugins (sched_converge.so, ...)
  std::string share_dir;   // templates (local-cluster/slurm.conf.in, converge.json)

  // Next to the running executable (build tree: build/plugins, build/share)
  // or, installed, where `make install` put them.
  static Installation locate();
};

class LocalCluster {
 public:
  LocalCluster(std::string dir, Installation installation);

  // Settings of the cluster running (or last started) in dir, if any.
  std::optional<ClusterSettings> recorded_settings() const;

  // Starts whatever is not running; harmless on a running cluster.
  void up(const ClusterSettings& settings, std::ostream& out);
  // Cancels jobs and stops every process `up` started. Returns false if there
  // was nothing to stop.
  bool down(std::ostream& out);
  // Prints daemons, plugins and nodes; returns true if the cluster is up.
  bool status(std::ostream& out) const;
  // Prints the byte counters of the links of a cluster started with --hosts
  // (a table, or one JSON object); throws ClusterError for any other.
  void links(std::ostream& out, bool json) const;

  std::string marker() const { return "CONVERGE_CLUSTER_DIR=" + dir_; }
  // Directories of other local clusters with a process running on this host.
  std::vector<std::string> other_clusters() const;
  std::vector<std::string> slurm_env(const ClusterSettings& s) const {
    return {"SLURM_CONF=" + s.slurm_conf()};
  }

 private:
  struct Daemon {
    std::string name;  // "slurmctld", "slurmd n1", "munged"
    std::string pid_file;
    int port = 0;  // 0: none of ours to check
  };
  std::vector<Daemon> daemons(const ClusterSettings& s) const;
  std::optional<process::ProcessId> running(const Daemon& d) const;

  void check_dependencies(const ClusterSettings& s) const;
  void ensure_munge(std::ostream& out) const;
  void ensure_fuse_for_users(std::ostream& out) const;
  void start_controller(const ClusterSettings& s) const;
  void start_slurmd(const ClusterSettings& s, int index) const;
  void wait_for_nodes(const ClusterSettings& s) const;
  void link_default_conf(const ClusterSettings& s, std::ostream& out) const;
  void unlink_default_conf(const ClusterSettings& s) const;
  void cancel_jobs(const ClusterSettings& s, std::ostream& out) const;
  std::string last_log_lines(const std::string& path, int count) const;
  static VirtualNetwork network_of(const ClusterSettings& s) {
    return VirtualNetwork(
        NetworkPlan::for_cluster(s.controller_port, s.node_names(), s.uplink_rate, s.link_rate));
  }

  std::string dir_;
  Installation installation_;
};

}  // namespace converge::cluster
