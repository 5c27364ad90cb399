// SPDX-License-Identifier: GPL-2.0-or-later
//
// converge-admin: what Converge's scheduler is doing, for admins. It reads
// the status sched/converge keeps in slurmctld's StateSaveLocation
// (converge-status.json): the pull queue by class, what was pulled, and the
// recent decisions with their reasons.
#include "converge/log.h"
#include "converge/process.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string_view>

namespace {

constexpr const char* kUsage = R"(usage: converge-admin status [--json]

Shows sched/converge's pull queue (waiting big-data jobs by class), how many
jobs nodes have pulled, the locality map in use, the adaptive pools (members,
limits, load, recent moves with their reasons) and the recent decisions
with their reasons. `scontrol reconfigure` reloads the policy from
converge.json.
)";

std::string state_save_location() {
  auto r = converge::process::run({"scontrol", "show", "config"});
  if (r.exit_code != 0) throw std::runtime_error("scontrol show config failed: " + r.output);
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("StateSaveLocation", 0) != 0) continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) break;
    std::string v = line.substr(eq + 1);
    v.erase(0, v.find_first_not_of(' '));
    return v;
  }
  throw std::runtime_error("scontrol show config names no StateSaveLocation");
}

int status(bool as_json) {
  std::string path = state_save_location() + "/converge-status.json";
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error(fmt::format(
        "{} does not exist: is SchedulerType=sched/converge, and has slurmctld been up a second?",
        path));
  auto j = nlohmann::json::parse(in);
  if (as_json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::time_t now = std::time(nullptr);
  const auto& p = j["pull"];
  std::cout << fmt::format("sched/converge (status written {} s ago)\n",
                           now - j["time"].get<std::time_t>());
  std::cout << fmt::format("  pull queue: {} waiting ({} real-time, {} batch)\n",
                           p["queued"].get<long>(), p["realtime"].get<long>(),
                           p["batch"].get<long>());
  std::cout << fmt::format("  pulled by nodes so far: {} jobs in {} attempts\n",
                           p["pulled"].get<long>(), p["attempts"].get<long>());
  std::cout << fmt::format("  locality map: {} prefixes\n", j["locality_prefixes"].get<long>());
  auto clock = [](const nlohmann::json& at) {
    std::time_t t = at.get<std::time_t>();
    char stamp[16];
    std::strftime(stamp, sizeof stamp, "%H:%M:%S", std::localtime(&t));
    return std::string(stamp);
  };
  const auto pools = j.value("pools", nlohmann::json::object());
  if (pools.empty())
    std::cout << "  pools: none configured (every node serves every class)\n";
  else
    std::cout << "  pools:\n";
  for (const auto& [name, pool] : pools.items()) {
    auto max = pool["max_nodes"].get<long>();
    const auto& load = pool["load"];
    std::cout << fmt::format(
        "    {:<8} {} nodes (min {}, max {}): {}; {} CPUs pending, {} idle nodes\n", name,
        pool["nodes"].size(), pool["min_nodes"].get<long>(), max ? std::to_string(max) : "none",
        fmt::join(pool["nodes"].get<std::vector<std::string>>(), ","),
        load.value("pending_cpus", 0L), load.value("idle_nodes", 0L));
  }
  const auto moves = j.value("moves", nlohmann::json::array());
  if (!moves.empty()) std::cout << "  recent pool moves:\n";
  for (const auto& m : moves) {
    std::cout << fmt::format("    {}  {:<6} {} -> {}: {}\n", clock(m["at"]),
                             m["node"].get<std::string>(), m["from"].get<std::string>(),
                             m["to"].get<std::string>(), m["reason"].get<std::string>());
  }
  std::cout << "  recent decisions:\n";
  if (j["recent"].empty()) std::cout << "    none\n";
  for (const auto& d : j["recent"]) {
    std::cout << fmt::format("    {}  job {:<8} -> {:<6} {:<9} {}\n", clock(d["at"]),
                             d["job"].get<long>(), d["node"].get<std::string>(),
                             d["class"].get<std::string>(), d["reason"].get<std::string>());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string command;
    bool as_json = false;
    for (int i = 1; i < argc; ++i) {
      std::string_view arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        std::cout << kUsage;
        return 0;
      }
      if (arg == "--json") {
        as_json = true;
      } else if (command.empty() && !arg.starts_with("-")) {
        command = arg;
      } else {
        throw std::invalid_argument(fmt::format("unknown argument {} (see --help)", arg));
      }
    }
    if (command == "status") return status(as_json);
    throw std::invalid_argument(command.empty()
                                    ? "no command (see --help)"
                                    : fmt::format("unknown command {} (see --help)", command));
  } catch (const std::exception& e) {
    converge::log::error("{}", e.what());
  }
  return 1;
}
