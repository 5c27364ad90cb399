// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/poll.h"
#include "converge/process.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace process = converge::process;
using namespace std::chrono_literals;

TEST(Process, RunCapturesOutputAndExitCode) {
  auto r = process::run({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.output.find("out"), std::string::npos);
  EXPECT_NE(r.output.find("err"), std::string::npos);
  EXPECT_EQ(process::run({"sh", "-c", "echo $CONVERGE_TEST_VAR"}, {"CONVERGE_TEST_VAR=42"}).output,
            "42\n");
  EXPECT_EQ(process::run({"/nonexistent/program"}).exit_code, 127);
}

TEST(Process, DetachedDaemonIsFoundByItsMarkerAndTerminated) {
  auto dir = std::filesystem::temp_directory_path() /
             ("converge-process-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string marker = "CONVERGE_TEST_MARKER=" + dir.string();
  auto id = process::spawn_detached({{"/bin/sleep", "60"}, {marker}, (dir / "log").string(), ""});
  EXPECT_TRUE(process::alive(id));
  auto found = process::find_by_environment(marker);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0], id);
  EXPECT_TRUE(process::find_by_environment(marker + "x").empty());
  auto by_name = process::find_by_environment_prefix("CONVERGE_TEST_MARKER=");
  auto mine = std::find_if(by_name.begin(), by_name.end(),
                           [&](const auto& found_one) { return found_one.first == id; });
  ASSERT_NE(mine, by_name.end());
  EXPECT_EQ(mine->second, marker);

  process::write_pid_file((dir / "pid").string(), id);
  EXPECT_EQ(process::read_pid_file((dir / "pid").string()), id);

  process::terminate(id, 5s);
  EXPECT_FALSE(process::alive(id));
  EXPECT_TRUE(process::find_by_environment(marker).empty());
  std::filesystem::remove_all(dir);
}

// Cleanup as root stops a job's services by their marker; the marker is
// the job user's to copy, so only that user's processes may match.
TEST(Process, FindByEnvironmentKeepsOnlyTheGivenUsersProcesses) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to start a process as another user";
  auto dir = std::filesystem::temp_directory_path() /
             ("converge-process-uid-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string marker = "CONVERGE_TEST_MARKER=" + dir.string();
  constexpr uid_t kNobody = 65534;
  auto mine = process::spawn_detached({{"/bin/sleep", "60"}, {marker}, (dir / "log").string(), ""});
  auto theirs = process::spawn_detached(
      {{"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sleep", "60"},
       {marker},
       (dir / "log").string(),
       ""});
  // setpriv changes its uid before it execs sleep: wait for that.
  ASSERT_TRUE(
      converge::poll_until(10s, 10ms, [&] { return process::runs_as(theirs.pid, kNobody); }));
  EXPECT_TRUE(process::runs_as(mine.pid, 0));
  EXPECT_EQ(process::find_by_environment(marker).size(), 2u);
  EXPECT_EQ(process::find_by_environment(marker, 0), std::vector<process::ProcessId>{mine});
  EXPECT_EQ(process::find_by_environment(marker, kNobody), std::vector<process::ProcessId>{theirs});
  EXPECT_TRUE(process::find_by_environment(marker, 4242).empty());
  process::terminate_all({mine, theirs}, 5s);
  std::filesystem::remove_all(dir);
}

TEST(Process, RecycledPidIsNotAlive) {
  process::ProcessId self{getpid(), *process::start_time_of(getpid())};
  EXPECT_TRUE(process::alive(self));
  self.start_time += 1;
  EXPECT_FALSE(process::alive(self));
}

TEST(Process, SpawnReportsExecFailure) {
  EXPECT_THROW(process::spawn_detached({{"/nonexistent/daemon"}, {}, "", ""}), process::Error);
}

TEST(Process, PollUntilReturnsAsSoonAsTheConditionHolds) {
  int calls = 0;
  EXPECT_TRUE(converge::poll_until(5s, 1ms, [&] { return ++calls == 3; }));
  EXPECT_EQ(calls, 3);
  EXPECT_FALSE(converge::poll_until(20ms, 5ms, [] { return false; }));
}

TEST(Process, FindsPrograms) {
  EXPECT_TRUE(process::find_program("sh"));
  EXPECT_FALSE(process::find_program("no-such-program-converge"));
}
