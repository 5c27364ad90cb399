// SPDX-License-Identifier: GPL-2.0-or-later
#include "kapok/common/protocol.h"
#include "kapok/common/settings.h"
#include "kapok/daemon/metadata_engine.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace kapok;

TEST(KapokSettings, ShippedConfigIsValid) {
  Settings s = Settings::load(CONVERGE_SOURCE_DIR "/configs/converge.json");
  EXPECT_EQ(s.inline_threshold, 65536u);
  EXPECT_EQ(s.durability, Durability::sync);
}

// Settings hold Kapok's only defaults: the shipped config restates none of
// them, and the engine's options are built from them.
TEST(KapokSettings, AreTheOnlySourceOfDefaults) {
  auto shipped = converge::config::load_file(CONVERGE_SOURCE_DIR "/configs/converge.json");
  EXPECT_TRUE(shipped.at("kapok").empty()) << shipped.at("kapok").dump();
  EngineOptions defaults;
  EXPECT_EQ(defaults.durability, Settings{}.durability);
  EXPECT_EQ(defaults.commit_window, Settings{}.commit_window);
  EXPECT_EQ(defaults.device_bytes, Settings{}.device_bytes);

  Settings site;
  site.durability = Durability::group_commit;
  site.commit_window = std::chrono::microseconds(750);
  site.device_bytes = 64u << 20;
  auto engine = EngineOptions::from(site, "/x/metadata.dev");
  EXPECT_EQ(engine.device_path, "/x/metadata.dev");
  EXPECT_EQ(engine.durability, Durability::group_commit);
  EXPECT_EQ(engine.commit_window, std::chrono::microseconds(750));
  EXPECT_EQ(engine.device_bytes, 64u << 20);
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
