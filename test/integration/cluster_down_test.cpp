// SPDX-License-Identifier: GPL-2.0-or-later
//
// Runs last (CTest fixture cleanup): `converge-cluster down` with a job still
// running must leave no slurmctld, slurmd or slurmstepd of ours behind, and
// no network namespace or link of its hosts.
#include "cluster_env.h"

#include <gtest/gtest.h>

#include <filesystem>

using namespace converge::test;
using namespace std::chrono_literals;
namespace process = converge::process;

TEST(ClusterDown, LeavesNoProcessBehind) {
  // A running job means slurmstepd and a task exist when down starts.
  auto submit =
      sh("sbatch --parsable -o /dev/null --converge-type=sim -N2 --wrap 'srun sleep 300'");
  ASSERT_EQ(submit.exit_code, 0) << submit.output;
  ASSERT_TRUE(converge::poll_until(30s, 100ms, [] {
    return sh("squeue -h -t running -o %i").output.size() > 0 &&
           sh("pgrep -f 'slurmstepd: \\[[0-9]+\\.0\\]'").exit_code == 0;
  }));
  ASSERT_FALSE(process::find_by_environment(kMarker).empty());

  auto down = admin(cluster_cmd("down"));
  EXPECT_EQ(down.exit_code, 0) << down.output;
  EXPECT_NE(down.output.find("is down"), std::string::npos) << down.output;

  EXPECT_TRUE(process::find_by_environment(kMarker).empty());
  // Nothing Slurm-shaped is left running at all (zombies are not running).
  auto left = process::run(
      {"sh", "-c",
       "ps -eo stat=,comm= | awk '$1 !~ /^Z/ && $2 ~ /^(slurmctld|slurmd|slurmstepd)$/'"});
  EXPECT_EQ(left.output, "");
  // Nor any of the hosts' namespaces and links.
  EXPECT_FALSE(std::filesystem::exists(node_namespace("n1")));
  auto links = process::run({"ip", "-o", "link", "show"});
  EXPECT_EQ(links.output.find(": cv" + kPortBase), std::string::npos) << links.output;
  auto status = admin(cluster_cmd("status"));
  EXPECT_EQ(status.exit_code, 3);
  std::error_code ec;
  EXPECT_NE(std::filesystem::read_symlink("/etc/slurm/slurm.conf", ec),
            std::filesystem::path(kSlurmConf));
}
