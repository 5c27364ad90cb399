// SPDX-License-Identifier: GPL-2.0-or-later
#include "node_check.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

using namespace converge::admin;

namespace {

const NodeCheck& named(const std::vector<NodeCheck>& checks, const std::string& name) {
  auto it = std::find_if(checks.begin(), checks.end(),
                         [&](const NodeCheck& c) { return c.name == name; });
  if (it == checks.end()) throw std::runtime_error("no check named " + name);
  return *it;
}

}  // namespace

TEST(NodeCheck, SaysInOneLineWhatIsMissingAndWhere) {
  const std::string dir = ::testing::TempDir() + "/node-check";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/slurm.conf") << "# a site's\nPluginDir=" << dir << "/no-plugins\n";
  std::ofstream(dir + "/converge.json")
      << R"({"launcher": {"job_dir": ")" << dir << R"(/loose/%j", "services_dir": ")" << dir
      << R"(/no-services"}})";
  std::filesystem::create_directories(dir + "/loose");
  std::filesystem::permissions(dir + "/loose", std::filesystem::perms::all);  // 0777, not sticky
  NodeCheckSettings settings;
  settings.slurm_conf = dir + "/slurm.conf";
  settings.munge_socket = dir + "/no-munge.socket";
  auto checks = check_node(settings);

  const auto& plugins = named(checks, "plugins");
  ASSERT_TRUE(plugins.problem);
  EXPECT_NE(plugins.problem->find("sched_converge.so"), std::string::npos) << *plugins.problem;
  EXPECT_NE(plugins.problem->find(dir + "/no-plugins"), std::string::npos) << *plugins.problem;
  const auto& munge = named(checks, "munge");
  ASSERT_TRUE(munge.problem);
  EXPECT_NE(munge.problem->find("no-munge.socket"), std::string::npos) << *munge.problem;
  const auto& job_dirs = named(checks, "job dirs");
  ASSERT_TRUE(job_dirs.problem);
  EXPECT_NE(job_dirs.problem->find("sticky"), std::string::npos) << *job_dirs.problem;
  const auto& services = named(checks, "services");
  ASSERT_TRUE(services.problem);
  EXPECT_NE(services.problem->find("no-services"), std::string::npos) << *services.problem;
  EXPECT_FALSE(named(checks, "config").problem);
  for (const auto& c : checks) {
    if (c.problem) {
      EXPECT_EQ(c.problem->find('\n'), std::string::npos) << c.name;
    }
  }
}
