// SPDX-License-Identifier: GPL-2.0-or-later
//
// Where a job's services keep their state and mounts: the "launcher"
// section of converge.json, read by converge-launch and by the SPANK plugin
// (which tells the job's steps the same paths). Patterns expand %j (job id),
// %n (node name) and %d (the job directory).
#pragma once

#include "converge/config.h"

#include <chrono>
#include <string>

namespace converge {

struct LaunchSettings {
  // Must be visible from every node of a job (shared or identical paths).
  std::string job_dir = "/var/tmp/converge-jobs/%j";
  std::string kapok_mount = "%d/kapok/%n";
  // Service descriptors; empty: share/converge/services beside the programs.
  std::string services_dir;
  // Address services listen on; empty: this node's host name; "auto": the
  // node's first interface that is not loopback (net::first_interface_address).
  std::string listen_host;
  std::chrono::milliseconds ready_timeout{30000};
  // How much later than the slowest allowed node a PMIx fence of the
  // bring-up may complete before it counts as stalled (ranks of a step can
  // start seconds apart on busy nodes).
  std::chrono::milliseconds fence_margin{30000};

  // Reads the "launcher" section if the file has one; throws config::Error.
  static LaunchSettings load(const std::string& config_file);
  void apply(const config::Node& section);

  std::string job_dir_of(const std::string& job_id) const;
  std::string kapok_mount_of(const std::string& job_id, const std::string& node) const;
};

// Expands %j, %n, %d and %% in `pattern`.
std::string expand_job_pattern(const std::string& pattern, const std::string& job_id,
                               const std::string& node, const std::string& job_dir);

// The environment variable that marks a service process of a job on a node,
// so cleanup finds exactly those: "CONVERGE_SERVICE_OF=<job>/<node>".
std::string service_marker(const std::string& job_id, const std::string& node);

}  // namespace converge
