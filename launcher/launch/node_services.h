// SPDX-License-Identifier: GPL-2.0-or-later
//
// One node's share of a job's services: which roles of which descriptors run
// here, their ports and CPUs (from hwloc), starting them phase by phase,
// readiness checks, and stopping them again. converge-launch's ranks each
// own one of these; the ranks agree through PMIx (see serve.cpp).
#pragma once

#include "converge/launch_settings.h"
#include "converge/process.h"
#include "converge/rpc/auth.h"
#include "converge/service_descriptor.h"
#include "converge/unique_fd.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace converge::launch {

struct NodeContext {
  std::string job_id;
  std::string node;
  unsigned rank = 0;
  unsigned size = 1;
  std::string host;  // address services listen on
  std::string job_dir;
  std::string config_path;  // the job's copy of converge.json
  std::string bin_dir;      // where converge's programs are
  LaunchSettings settings;
};

struct RoleInstance {
  std::string service;
  const ServiceRole* role = nullptr;
  std::vector<std::uint16_t> ports;
  std::vector<UniqueFd> listeners;  // reserving `ports` until the service starts
  std::vector<unsigned> cpus;
  std::map<std::string, std::string> values;  // template values
  std::string log_path;
  std::optional<process::ProcessId> process;
  std::chrono::milliseconds ready_after{0};

  std::string endpoint() const;  // "host:port" of its first port, or ""
  nlohmann::json summary() const;
};

class NodeServices {
 public:
  NodeServices(NodeContext context, std::vector<ServiceDescriptor> services);
  ~NodeServices();  // stops whatever still runs

  // {"service": {"role": "host:port" or ""}} for the roles on this node.
  nlohmann::json local_endpoints() const;
  // Everyone's local_endpoints, by rank: writes the generated files.
  void learn_endpoints(const std::vector<nlohmann::json>& by_rank);
  // The instance's secret (made by rank 0, shared over PMIx): written to
  // this node's job directory (0600) for the services, which find it through
  // $CONVERGE_JOB_SECRET_FILE, and used for "rpc" readiness checks.
  void use_secret(const rpc::JobSecret& secret);
  unsigned last_phase() const;
  // The longest any node may spend in start_phase(phase): the largest
  // readiness limit among the phase's roles of every service (all nodes run
  // the same descriptors, so every rank computes the same value).
  std::chrono::milliseconds phase_limit(unsigned phase) const;
  // Starts this node's roles of `phase` and waits until they are ready; on
  // failure returns the reason ("kapok/server: exited with status 1: ...").
  std::optional<std::string> start_phase(unsigned phase);
  // A role that exited after it was ready, if any.
  std::optional<std::string> check_running();
  void stop_all();

  const std::vector<RoleInstance>& instances() const { return instances_; }
  const std::vector<std::string>& mounts() const { return mounts_; }

 private:
  std::string render(const std::string& text, const RoleInstance& r) const;
  std::optional<std::string> start(RoleInstance& r);
  bool ready(const RoleInstance& r) const;

  NodeContext context_;
  rpc::AuthSettings auth_;
  std::string secret_file_;
  std::vector<ServiceDescriptor> services_;
  std::vector<RoleInstance> instances_;
  std::vector<std::string> mounts_;  // mount points the roles create
  std::vector<unsigned> reserved_cpus_, worker_cpus_;
  std::map<std::string, std::string> lists_;  // "service.role" -> JSON array of endpoints
};

// Where service descriptors are: the settings' services_dir, else
// share/converge/services beside the programs.
std::string services_dir(const LaunchSettings& settings);

// Reads `path`'s last non-empty line (a failing service's last words), or
// the last one that contains `containing`; "" when there is none.
std::string last_line_of(const std::string& path, const std::string& containing = "");

}  // namespace converge::launch
