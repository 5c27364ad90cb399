// SPDX-License-Identifier: GPL-2.0-or-later
#include "cluster_health.h"

#include "cluster_env.h"

#include <fmt/format.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace converge::test {
namespace {

std::string test_log_path() {
  return kClusterDir + "/test-output/tests.log";
}

// Slurm's own timestamp format, so test events and log lines compare as text.
std::string now_stamp() {
  std::time_t t = std::time(nullptr);
  std::tm local{};
  localtime_r(&t, &local);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &local);
  return buf;
}

// "batch job complete failure [root@2026-12-03T08:24:10]" -> the time.
std::string stamp_of(const std::string& reason) {
  auto at = reason.rfind('@');
  auto end = reason.rfind(']');
  if (at == std::string::npos || end == std::string::npos || end < at) return "";
  return reason.substr(at + 1, end - at - 1);
}

// The test that had started, and not yet ended, at `stamp`.
std::string test_running_at(const std::string& stamp) {
  std::ifstream in(test_log_path());
  std::string running = "(none recorded)";
  for (std::string when, test, event; in >> when >> test >> event;) {
    if (when > stamp) break;
    running = event == "start" ? test : "between tests, after " + test;
  }
  return running;
}

}  // namespace

std::vector<NodeProblem> node_problems() {
  std::vector<NodeProblem> problems;
  auto sinfo = sh("sinfo -h -N -o '%N %T'");
  if (sinfo.exit_code != 0) {
    // Not a node's state: say so, rather than read the error as one.
    std::string why = sinfo.output.substr(0, sinfo.output.find('\n'));
    return {{"(controller)", "unreachable", why}};
  }
  std::istringstream lines(sinfo.output);
  for (std::string node, state; lines >> node >> state;) {
    bool bad = state.find("drain") != std::string::npos ||
               state.find("down") != std::string::npos || state.find("fail") != std::string::npos ||
               state.back() == '*';
    if (!bad) continue;
    std::string shown = sh("scontrol -o show node " + node).output;
    std::string reason;
    if (auto at = shown.find(" Reason="); at != std::string::npos) {
      reason = shown.substr(at + 8);
      reason = reason.substr(0, reason.find('\n'));
    }
    problems.push_back({node, state, reason});
  }
  return problems;
}

std::string drain_report(const std::vector<NodeProblem>& problems) {
  std::string controller = controller_log(), out;
  for (const auto& p : problems) {
    std::string stamp = stamp_of(p.reason);
    out += fmt::format("node {} is {}: {}\n  during test: {}\n", p.node, p.state,
                       p.reason.empty() ? "(no reason given)" : p.reason,
                       stamp.empty() ? "(unknown)" : test_running_at(stamp));
    if (stamp.empty()) continue;
    std::istringstream lines(controller);
    int shown = 0;
    for (std::string line; std::getline(lines, line) && shown < 12;) {
      if (line.find(stamp) == std::string::npos) continue;
      out += "  controller: " + line + "\n";
      ++shown;
    }
  }
  return out;
}

void record_test_event(const std::string& test, const std::string& event) {
  std::filesystem::create_directories(kClusterDir + "/test-output");
  std::ofstream(test_log_path(), std::ios::app)
      << now_stamp() << " " << test << " " << event << "\n";
}

}  // namespace converge::test
