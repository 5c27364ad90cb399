// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/log.h"

#include <gtest/gtest.h>

#include <vector>

namespace cvlog = converge::log;

TEST(Log, LevelsFilterAndSinkReceives) {
  std::vector<std::pair<cvlog::Level, std::string>> seen;
  cvlog::set_sink(
      [&](cvlog::Level l, std::string_view m) { seen.emplace_back(l, std::string(m)); });
  cvlog::set_level(cvlog::Level::info);
  cvlog::debug("hidden {}", 1);
  cvlog::info("shown {}", 2);
  cvlog::error("bad {}", "thing");
  cvlog::set_sink(nullptr);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].second, "shown 2");
  EXPECT_EQ(seen[1].first, cvlog::Level::error);
  EXPECT_EQ(seen[1].second, "bad thing");
}

TEST(Log, ParsesLevelNames) {
  EXPECT_EQ(cvlog::parse_level("verbose"), cvlog::Level::verbose);
  EXPECT_EQ(cvlog::parse_level("loud"), std::nullopt);
  EXPECT_EQ(cvlog::to_string(cvlog::Level::warning), "warning");
}
