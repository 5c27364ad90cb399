// SPDX-License-Identifier: GPL-2.0-or-later
#include "run_state.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace converge::workflow {

RunState RunState::start(const std::string& workflow, const std::vector<std::string>& steps) {
  nlohmann::json j{{"workflow", workflow}, {"started", now_ms()}, {"finished", false}};
  j["order"] = steps;
  for (const auto& s : steps) j["steps"][s] = {{"state", "waiting"}};
  return RunState(std::move(j));
}

std::int64_t RunState::now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void RunState::set(const std::string& step, const std::string& state, const std::string& reason) {
  auto& s = json_["steps"][step];
  s["state"] = state;
  if (state == "running") s["started"] = now_ms();
  if (state != "running" && state != "waiting") s["ended"] = now_ms();
  if (!reason.empty()) s["reason"] = reason;
}

void RunState::set_field(const std::string& step, const std::string& key,
                         const nlohmann::json& value) {
  json_["steps"][step][key] = value;
}

std::string RunState::state_of(const std::string& step) const {
  return json_.at("steps").at(step).at("state").get<std::string>();
}

void RunState::save(const std::string& path) const {
  std::string tmp = path + "." + std::to_string(getpid()) + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << json_.dump(2) << "\n";
  }
  std::filesystem::rename(tmp, path);
}

bool RunState::load(const std::string& path, RunState& out) {
  std::ifstream in(path);
  if (!in) return false;
  try {
    out = RunState(nlohmann::json::parse(in));
    return out.json().contains("steps");
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

}  // namespace converge::workflow
