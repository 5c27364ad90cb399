// SPDX-License-Identifier: GPL-2.0-or-later
#include "common/protocol.h"
#include "common/settings.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace kapok;

TEST(KapokSettings, ShippedConfigIsValid) {
  Settings s = Settings::load(CONVERGE_SOURCE_DIR "/configs/converge.json");
  EXPECT_EQ(s.inline_threshold, 65536u);
  EXPECT_EQ(s.durability, Durability::sync);
}

TEST(KapokSettings, BadValuesNameTheKey) {
  auto json = converge::config::parse(R"({"kapok": {"stripe_size": 10}})", "c.json");
  Settings s;
  try {
    s.apply(converge::config::Node(json, "c.json").at("kapok"));
    FAIL();
  } catch (const converge::config::Error& e) {
    EXPECT_STREQ(e.what(), "c.json: /kapok/stripe_size: 10 is out of range [4096, 67108864]");
  }
}

TEST(KapokMembers, LoadsAndRejectsBadEndpoints) {
  auto path =
      std::filesystem::temp_directory_path() / ("members-" + std::to_string(getpid()) + ".json");
  std::ofstream(path)
      << R"({"mds": ["127.0.0.1:7100", "127.0.0.1:7101"], "ds": ["127.0.0.1:7200"]})";
  Members m = Members::load(path.string());
  EXPECT_EQ(m.mds.size(), 2u);
  EXPECT_EQ(m.ds[0].port, 7200);
  std::ofstream(path, std::ios::trunc) << R"({"mds": ["nohost"], "ds": ["127.0.0.1:7200"]})";
  EXPECT_THROW(Members::load(path.string()), converge::config::Error);
  std::ofstream(path, std::ios::trunc) << R"({"mds": [], "ds": ["127.0.0.1:7200"]})";
  EXPECT_THROW(Members::load(path.string()), converge::config::Error);
  std::filesystem::remove(path);
  EXPECT_EQ(mds_of_ino(make_ino(3, 42)), 3u);
}
