// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/binding_hint.h"

#include <gtest/gtest.h>

using namespace converge;

TEST(BindingHint, CpuListsRoundTripWithRanges) {
  EXPECT_EQ(parse_cpu_list("0-3,8,10-11"), (std::set<unsigned>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(parse_cpu_list("5\n"), (std::set<unsigned>{5}));
  EXPECT_EQ(format_cpu_list({0, 1, 2, 5, 7, 8}), "0-2,5,7-8");
  EXPECT_EQ(format_cpu_list({}), "");
  for (const char* bad : {"3-1", "a", "1,", "-1", "1--2", "0-999999"})
    EXPECT_EQ(parse_cpu_list(bad), std::nullopt) << bad;
}

TEST(BindingHint, NamesTheNumaNodesOfTheAllocatedCores) {
  std::map<unsigned, unsigned> numa{{0, 0}, {1, 0}, {2, 1}, {3, 1}};
  auto hint = binding_hint({1, 2, 3}, numa);
  EXPECT_EQ(hint.cores, "1-3");
  EXPECT_EQ(hint.numa, "0-1");
  EXPECT_EQ(binding_hint({0, 1}, numa).numa, "0");
  EXPECT_EQ(binding_hint({9}, numa).numa, "");  // unknown CPU: no NUMA hint
}

TEST(BindingHint, ThisMachinesNumaMapCoversItsCores) {
  auto numa = numa_of_cores();
  if (numa.empty()) GTEST_SKIP() << "no /sys/devices/system/node";
  EXPECT_TRUE(numa.contains(0));
}
