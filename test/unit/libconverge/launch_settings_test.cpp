// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/launch_settings.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using converge::LaunchSettings;
using namespace std::chrono_literals;

namespace {

std::string write_config(const std::string& text) {
  std::string path =
      (fs::temp_directory_path() / ("converge-launch-settings-" + std::to_string(getpid())))
          .string();
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST(LaunchSettings, DefaultsWithoutAFile) {
  auto s = LaunchSettings::load("");
  EXPECT_EQ(s.ready_timeout, 30000ms);
  EXPECT_EQ(s.fence_margin, 30000ms);
  EXPECT_EQ(s.job_dir_of("42"), "/var/tmp/converge-jobs/42");
}

TEST(LaunchSettings, ReadsTheLauncherSection) {
  std::string path = write_config(
      R"({"launcher": {"job_dir": "/j/%j", "ready_timeout_ms": 1500, "fence_margin_ms": 2000}})");
  auto s = LaunchSettings::load(path);
  fs::remove(path);
  EXPECT_EQ(s.ready_timeout, 1500ms);
  EXPECT_EQ(s.fence_margin, 2000ms);
  EXPECT_EQ(s.job_dir_of("7"), "/j/7");
  EXPECT_EQ(s.kapok_mount_of("7", "n2"), "/j/7/kapok/n2");
}

TEST(LaunchSettings, RefusesAFenceMarginBelowASecondAndUnknownKeys) {
  for (const char* bad :
       {R"({"launcher": {"fence_margin_ms": 10}})", R"({"launcher": {"fence_margin": 5000}})"}) {
    std::string path = write_config(bad);
    EXPECT_THROW(LaunchSettings::load(path), converge::config::Error) << bad;
    fs::remove(path);
  }
}
