// SPDX-License-Identifier: GPL-2.0-or-later
//
// The files converge-launch keeps in a job's directory, shared by `up`,
// `down`, the service step's ranks and later steps:
//   services.json   state of the service step: starting, ready (with a
//                   per-service, per-node summary), failed (with the errors),
//                   stopped
//   endpoints.json  $CONVERGE_ENDPOINTS: every service's endpoints by node
//   converge.json   the configuration the services run with
//   logs/           one log per service role and node, and the step's own
//   stopped/NODE    written by each rank once its node is clean
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace converge::launch {

struct JobFiles {
  std::string dir;

  std::string state() const { return dir + "/services.json"; }
  std::string endpoints() const { return dir + "/endpoints.json"; }
  std::string config() const { return dir + "/converge.json"; }
  std::string logs() const { return dir + "/logs"; }
  std::string stopped(const std::string& node) const { return dir + "/stopped/" + node; }
};

// Atomic: readers see the old or the new file, never a torn one.
void write_json(const std::string& path, const nlohmann::json& value);
std::optional<nlohmann::json> read_json(const std::string& path);

}  // namespace converge::launch
