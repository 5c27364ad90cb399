// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/sched/scheduler_status.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using converge::sched::SchedulerStatus;
using converge::sched::StatusError;
namespace fs = std::filesystem;

namespace {

SchedulerStatus sample() {
  SchedulerStatus s;
  s.written = 1700000000;
  s.queued = 5;
  s.realtime = 2;
  s.pulled = 40;
  s.attempts = 52;
  s.locality_prefixes = 3;
  s.recent = {{17, "n3", "realtime", "data on n3", 1700000001},
              {12, "n1", "batch", "first idle node", 1699999990}};
  s.pools["bigdata"] = {{"n3", "n4"}, 1, 3, 8, 1};
  s.pools["sim"] = {{"n1", "n2"}, 2, 0, 0, 0};
  s.moves = {{"n4", "sim", "bigdata", "8 CPUs pending", 1699999999}};
  return s;
}

}  // namespace

TEST(SchedulerStatus, RoundTripsThroughItsFile) {
  fs::path dir = fs::temp_directory_path() / ("status-test-" + std::to_string(getpid()));
  fs::create_directories(dir);
  SchedulerStatus written = sample();
  ASSERT_TRUE(written.write(dir.string()));
  SchedulerStatus read = SchedulerStatus::read(dir.string());
  EXPECT_EQ(read.to_json(), written.to_json());
  EXPECT_EQ(read.recent.at(0).job, 17u);
  EXPECT_EQ(read.recent.at(0).urgency, "realtime");
  EXPECT_EQ(read.pools.at("bigdata").nodes, (std::vector<std::string>{"n3", "n4"}));
  EXPECT_EQ(read.pools.at("bigdata").pending_cpus, 8u);
  EXPECT_EQ(read.moves.at(0).to, "bigdata");
  // What scripts read: the batch count is there too.
  EXPECT_EQ(written.to_json()["pull"]["batch"], 3);
  fs::remove_all(dir);
}

TEST(SchedulerStatus, BadFilesAreOneLineErrors) {
  fs::path dir = fs::temp_directory_path() / ("status-bad-" + std::to_string(getpid()));
  fs::create_directories(dir);
  try {
    SchedulerStatus::read(dir.string());
    FAIL();
  } catch (const StatusError& e) {
    EXPECT_NE(std::string(e.what()).find("converge-status.json does not exist"), std::string::npos)
        << e.what();
  }
  std::ofstream(dir / SchedulerStatus::kFileName) << "{\"time\": 1, \"pull\": {\"queued\": \"x\"}}";
  try {
    SchedulerStatus::read(dir.string());
    FAIL();
  } catch (const StatusError& e) {
    EXPECT_NE(std::string(e.what()).find("status: pull: \"queued\" has the wrong type"),
              std::string::npos)
        << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
  }
  std::ofstream(dir / SchedulerStatus::kFileName) << "{not json";
  EXPECT_THROW(SchedulerStatus::read(dir.string()), StatusError);
  fs::remove_all(dir);
}
