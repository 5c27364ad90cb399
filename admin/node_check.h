// SPDX-License-Identifier: GPL-2.0-or-later
//
// `converge-admin check`: what Converge needs on a node, checked where it
// runs, one line each: the running Slurm is the version the plugins were
// built for and they are in its PluginDir, MUNGE answers, FUSE is usable by
// users' jobs, hwloc sees the node, the job directories' parent is safe,
// and the services' programs are found.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace converge::admin {

struct NodeCheck {
  std::string name;                    // "slurm", "munge", ...
  std::optional<std::string> problem;  // what is wrong, and what to do
  std::string detail;                  // what was found, when all is well
};

struct NodeCheckSettings {
  std::string slurm_conf;    // empty: $SLURM_CONF or /etc/slurm/slurm.conf
  std::string config;        // converge.json; empty: beside slurm.conf
  std::string munge_socket;  // empty: libmunge's default
  std::string bin_dir;       // where service programs are looked for first
};

std::vector<NodeCheck> check_node(const NodeCheckSettings& settings);

}  // namespace converge::admin
