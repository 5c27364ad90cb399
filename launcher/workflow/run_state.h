// SPDX-License-Identifier: GPL-2.0-or-later
//
// A workflow run's progress, kept in WORK_DIR/state.json: written by whoever
// runs the steps (converge-run inside the allocation, or the outer
// converge-run for a chain of jobs) and read for the progress display.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

namespace converge::workflow {

// Step states: waiting, running, done, skipped (outputs complete), failed,
// cancelled (a dependency failed).
class RunState {
 public:
  RunState() = default;
  explicit RunState(nlohmann::json json) : json_(std::move(json)) {}

  static RunState start(const std::string& workflow, const std::vector<std::string>& steps);
  static std::int64_t now_ms();

  void set(const std::string& step, const std::string& state, const std::string& reason = "");
  void set_field(const std::string& step, const std::string& key, const nlohmann::json& value);
  std::string state_of(const std::string& step) const;
  const nlohmann::json& json() const { return json_; }
  nlohmann::json& json() { return json_; }

  void save(const std::string& path) const;
  static bool load(const std::string& path, RunState& out);

 private:
  nlohmann::json json_;
};

}  // namespace converge::workflow
