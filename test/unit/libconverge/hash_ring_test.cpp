// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/hash_ring.h"

#include <gtest/gtest.h>

#include <map>

using converge::HashRing;

namespace {

std::vector<std::string> keys(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("dir-17/file-" + std::to_string(i));
  return out;
}

}  // namespace

TEST(HashRing, StableHashIsStable) {
  // Fixed values: placement must agree across processes and machines.
  EXPECT_EQ(converge::stable_hash(""), 0xef46db3751d8e999ull);
  EXPECT_EQ(converge::stable_hash("kapok"), converge::stable_hash("kapok"));
  EXPECT_NE(converge::stable_hash("kapok"), converge::stable_hash("kapok", 1));
}

TEST(HashRing, SpreadsKeysEvenly) {
  HashRing ring;
  for (int m = 0; m < 4; ++m) ring.add("mds" + std::to_string(m));
  std::map<std::string, int> counts;
  for (const auto& k : keys(40000)) ++counts[ring.owner(k)];
  ASSERT_EQ(counts.size(), 4u);
  for (const auto& [member, count] : counts) {
    EXPECT_NEAR(count, 10000, 2000) << member;
  }
}

TEST(HashRing, AddingAMemberMovesAboutOneNth) {
  for (int n : {4, 8}) {
    HashRing ring;
    for (int m = 0; m < n; ++m) ring.add("mds" + std::to_string(m));
    auto all = keys(50000);
    std::map<std::string, std::string> before;
    for (const auto& k : all) before[k] = ring.owner(k);
    ring.add("mds-new");
    int moved = 0;
    for (const auto& k : all) {
      const auto& now = ring.owner(k);
      if (now != before[k]) {
        ++moved;
        EXPECT_EQ(now, "mds-new");  // keys only move to the new member
      }
    }
    double expected = 50000.0 / (n + 1);
    EXPECT_NEAR(moved, expected, expected * 0.3) << n;
  }
}

TEST(HashRing, RemovingRestoresTheOldPlacement) {
  HashRing ring;
  for (int m = 0; m < 3; ++m) ring.add("s" + std::to_string(m));
  std::map<std::string, std::string> before;
  for (const auto& k : keys(1000)) before[k] = ring.owner(k);
  ring.add("s3");
  ring.remove("s3");
  for (const auto& k : keys(1000)) EXPECT_EQ(ring.owner(k), before[k]);
  HashRing empty;
  EXPECT_THROW(empty.owner("x"), std::logic_error);
}
