// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/hostlist.h"

#include <gtest/gtest.h>

using converge::hostlist::compress;
using converge::hostlist::expand;
using Names = std::vector<std::string>;

TEST(Hostlist, ExpandsRangesAndSingles) {
  EXPECT_EQ(expand("n[1-3,7],login"), (Names{"n1", "n2", "n3", "n7", "login"}));
  EXPECT_EQ(expand("n[08-10]"), (Names{"n08", "n09", "n10"}));
  EXPECT_EQ(expand("rack[1-2]-gpu"), (Names{"rack1-gpu", "rack2-gpu"}));
  EXPECT_EQ(expand(""), Names{});
}

TEST(Hostlist, RejectsMalformedExpressions) {
  EXPECT_THROW(expand("n[1-"), converge::hostlist::Error);
  EXPECT_THROW(expand("n[3-1]"), converge::hostlist::Error);
  EXPECT_THROW(expand("n[a-b]"), converge::hostlist::Error);
  EXPECT_THROW(expand("n1,,n2"), converge::hostlist::Error);
  EXPECT_THROW(expand("n]1["), converge::hostlist::Error);
}

TEST(Hostlist, CompressIsTheInverseOfExpand) {
  for (std::string expr :
       {"n[1-4]", "n[1-3,7]", "leaf[1-2]", "n[08-10]", "a,b", "n[1-2],m[5-6]", "spine"}) {
    EXPECT_EQ(compress(expand(expr)), expr);
  }
}
