// SPDX-License-Identifier: GPL-2.0-or-later
#include "kapok/common/striping.h"

#include <gtest/gtest.h>

using namespace kapok;

TEST(Striping, LayoutStartsByInodeAndWraps) {
  auto layout = StripeLayout::for_file(6, 4, 0, 1 << 20);
  EXPECT_EQ(layout.servers, (std::vector<std::uint32_t>{2, 3, 0, 1}));
  auto two = StripeLayout::for_file(7, 4, 2, 4096);
  EXPECT_EQ(two.servers, (std::vector<std::uint32_t>{3, 0}));
  EXPECT_EQ(StripeLayout::for_file(1, 2, 8, 4096).servers.size(),
            2u);  // at most the servers there are
  EXPECT_THROW(StripeLayout::for_file(1, 0, 0, 4096), std::invalid_argument);
  EXPECT_EQ(layout.chunk_count(0), 0u);
  EXPECT_EQ(layout.chunk_count(1), 1u);
  EXPECT_EQ(layout.chunk_count(2u << 20), 2u);
  EXPECT_EQ(layout.chunk_count((2u << 20) + 1), 3u);
}

TEST(Striping, SplitsRangesAtChunkBoundaries) {
  StripeLayout layout{100, {5, 6, 7}};
  auto pieces = split_range(layout, 250, 260);
  ASSERT_EQ(pieces.size(), 4u);
  EXPECT_EQ(pieces[0].chunk, 2u);
  EXPECT_EQ(pieces[0].server, 7u);
  EXPECT_EQ(pieces[0].chunk_offset, 50u);
  EXPECT_EQ(pieces[0].length, 50u);
  EXPECT_EQ(pieces[1].chunk, 3u);
  EXPECT_EQ(pieces[1].server, 5u);
  EXPECT_EQ(pieces[1].chunk_offset, 0u);
  EXPECT_EQ(pieces[1].length, 100u);
  EXPECT_EQ(pieces[3].chunk, 5u);
  EXPECT_EQ(pieces[3].length, 10u);
  std::uint64_t total = 0, expected_offset = 250;
  for (const auto& p : pieces) {
    EXPECT_EQ(p.file_offset, expected_offset);
    expected_offset += p.length;
    total += p.length;
  }
  EXPECT_EQ(total, 260u);
  EXPECT_TRUE(split_range(layout, 1000, 0).empty());
  auto aligned = split_range(layout, 300, 100);
  ASSERT_EQ(aligned.size(), 1u);
  EXPECT_EQ(aligned[0].chunk_offset, 0u);
}

// What `kapok locate` and converge-admin's locality map report: chunk c on
// position c % n, the last chunk partial, nothing on positions beyond the end.
TEST(Striping, BytesPerPositionFollowChunksRoundRobin) {
  StripeLayout layout;
  layout.stripe_size = 100;
  layout.servers = {2, 0, 3, 1};
  EXPECT_EQ(bytes_per_position(layout, 150), (std::vector<std::uint64_t>{100, 50, 0, 0}));
  EXPECT_EQ(bytes_per_position(layout, 560), (std::vector<std::uint64_t>{200, 160, 100, 100}));
  EXPECT_EQ(bytes_per_position(layout, 0), (std::vector<std::uint64_t>{0, 0, 0, 0}));
  layout.servers.clear();
  EXPECT_TRUE(bytes_per_position(layout, 10).empty());
}
