// SPDX-License-Identifier: GPL-2.0-or-later
#include "kapok/common/placement.h"

#include <gtest/gtest.h>

#include <map>

using kapok::Placement;

namespace {

constexpr std::uint64_t kDirs = 200;

std::uint64_t dir_ino(std::uint64_t i) {
  return (std::uint64_t{i % 4} << 48) | (1000 + i);
}

}  // namespace

TEST(Placement, VirtualDirectoriesSpreadEvenly) {
  Placement p(4);
  std::map<std::uint32_t, int> per_server;
  for (std::uint64_t d = 0; d < kDirs; ++d)
    for (std::uint32_t v = 0; v < Placement::kVirtualDirs; ++v)
      ++per_server[p.server_of_virtual_dir(dir_ino(d), v)];
  double total = kDirs * Placement::kVirtualDirs;
  ASSERT_EQ(per_server.size(), 4u);
  for (auto [server, n] : per_server) {
    EXPECT_NEAR(n / total, 0.25, 0.05) << "server " << server;
  }
}

TEST(Placement, AddingAServerMovesAboutOneNthOnlyToIt) {
  Placement four(4), five(5);
  int moved = 0, moved_elsewhere = 0;
  for (std::uint64_t d = 0; d < kDirs; ++d) {
    for (std::uint32_t v = 0; v < Placement::kVirtualDirs; ++v) {
      auto before = four.server_of_virtual_dir(dir_ino(d), v);
      auto after = five.server_of_virtual_dir(dir_ino(d), v);
      if (before != after) {
        ++moved;
        if (after != 4) ++moved_elsewhere;
      }
    }
  }
  double fraction = moved / double(kDirs * Placement::kVirtualDirs);
  EXPECT_NEAR(fraction, 1.0 / 5, 0.05);
  EXPECT_EQ(moved_elsewhere, 0);  // nothing moves between the old servers
  int homes_moved = 0;
  for (std::uint64_t d = 0; d < 5000; ++d) homes_moved += four.home(d) != five.home(d);
  EXPECT_NEAR(homes_moved / 5000.0, 1.0 / 5, 0.05);
}

TEST(Placement, NamesMapToStableVirtualDirectories) {
  EXPECT_EQ(Placement::virtual_dir_of("file-1"), Placement::virtual_dir_of("file-1"));
  std::map<std::uint32_t, int> hits;
  for (int i = 0; i < 12800; ++i) {
    auto v = Placement::virtual_dir_of("f" + std::to_string(i));
    ASSERT_LT(v, Placement::kVirtualDirs);
    ++hits[v];
  }
  EXPECT_EQ(hits.size(), Placement::kVirtualDirs);
  Placement one(1);
  EXPECT_EQ(one.server_of(42, "x", true), 0u);
  EXPECT_EQ(one.home(42), 0u);
}
