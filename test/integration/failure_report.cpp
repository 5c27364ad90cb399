// SPDX-License-Identifier: GPL-2.0-or-later
//
// main() of the cluster integration tests. When a test fails, it prints what
// the cluster looked like (node states, queue, the daemons' recent errors), so
// a failure on a machine nobody can log in to still says why.
#include "cluster_env.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <vector>

namespace {

using converge::test::kClusterDir;
using converge::test::read_file;
using converge::test::sh;

// The last `count` lines of `text` that contain one of `needles` (all lines
// when `needles` is empty).
std::string last_lines(const std::string& text, const std::vector<std::string>& needles,
                       std::size_t count) {
  std::vector<std::string> kept;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    bool wanted = needles.empty();
    for (const auto& n : needles) wanted = wanted || line.find(n) != std::string::npos;
    // A fresh cluster's controller finds no saved state: not a problem.
    if (line.find("state file") != std::string::npos ||
        line.find("Trying backup state") != std::string::npos)
      wanted = false;
    if (wanted) kept.push_back(line);
  }
  std::string out;
  for (std::size_t i = kept.size() > count ? kept.size() - count : 0; i < kept.size(); ++i)
    out += "    " + kept[i] + "\n";
  return out;
}

std::string name_of(const testing::TestInfo& info) {
  return std::string(info.test_suite_name()) + "." + info.name();
}

class ClusterReportOnFailure : public testing::EmptyTestEventListener {
  // Every test starts on a cluster whose nodes can all run work; one that an
  // earlier test took out of service fails the test at once, naming who did.
  void OnTestStart(const testing::TestInfo& info) override {
    converge::test::record_test_event(name_of(info), "start");
    if (auto problems = converge::test::node_problems(); !problems.empty()) {
      ADD_FAILURE() << "the cluster has a node out of service before this test starts:\n"
                    << converge::test::drain_report(problems);
    }
  }

  void OnTestEnd(const testing::TestInfo& info) override {
    converge::test::record_test_event(name_of(info), "end");
    if (!info.result()->Failed()) return;
    std::cout << "--- cluster at the failure of " << info.test_suite_name() << "." << info.name()
              << "\n  load: " << read_file("/proc/loadavg") << "  busiest processes:\n"
              << sh("ps -eo pid,pcpu,etime,comm --sort=-pcpu | sed -n '2,7s/^/    /p'").output
              << "  nodes:\n"
              << sh("sinfo -h -N -o '    %N %T %E'").output << "  jobs:\n"
              << sh("squeue -h -t all -o '    %i %T %R %N'").output
              << "  controller log (recent problems):\n"
              << last_lines(read_file(kClusterDir + "/log/slurmctld.log"),
                            {"error", "not responding", "DOWN", "drain", "Requeu", "NODE_FAIL"},
                            25);
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(kClusterDir + "/log", ec)) {
      std::string name = entry.path().filename().string();
      if (name.rfind("slurmd-", 0) != 0) continue;
      std::string lines = last_lines(read_file(entry.path()), {"error", "fatal"}, 8);
      if (!lines.empty()) std::cout << "  " << name << " (recent errors):\n" << lines;
    }
    // Kept for reading later: the next run's fixture starts from an empty
    // cluster directory.
    std::string kept = std::filesystem::path(kClusterDir).parent_path().string() +
                       "/test-failures/" + name_of(info);
    converge::test::admin("mkdir -p '" + kept + "' && cp -a '" + kClusterDir + "/log' '" +
                          kClusterDir + "/jobs' '" + kept + "/' 2>/dev/null");
    std::cout << "  logs and job directories kept in " << kept << "\n";
    std::cout << "---" << std::endl;
    // A failed test may leave its jobs running (an assertion returned before
    // its end): cancel them, so the next test starts on an idle cluster and
    // fails only for its own reasons. Nodes are never resumed here.
    // (A test that stopped the cluster on purpose has nothing to cancel.)
    if (sh("scontrol ping").output.find("is UP") == std::string::npos) return;
    converge::test::admin("scancel -u " + converge::test::kTestUser);
    converge::test::cluster_idle();
  }
};

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  // GoogleTest owns appended listeners and deletes them at exit.
  testing::UnitTest::GetInstance()->listeners().Append(
      std::make_unique<ClusterReportOnFailure>().release());
  return RUN_ALL_TESTS();
}
