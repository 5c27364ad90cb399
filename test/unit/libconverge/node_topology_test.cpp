// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/node_topology.h"

#include <gtest/gtest.h>

using converge::NodeTopology;

TEST(NodeTopology, SyntheticMachineHasTheDescribedShape) {
  auto t = NodeTopology::synthetic("package:2 numa:2 core:4 pu:2");
  EXPECT_EQ(t.packages.size(), 2u);
  EXPECT_EQ(t.numa_nodes.size(), 4u);
  EXPECT_EQ(t.cores.size(), 16u);
  EXPECT_EQ(t.pu_count, 32u);
  for (const auto& core : t.cores) {
    EXPECT_EQ(core.pus.size(), 2u);
    EXPECT_GE(core.numa, 0);
    EXPECT_GE(core.package, 0);
  }
  // Cores 0-3 share NUMA node 0 in package 0; cores 12-15 NUMA 3 in package 1.
  EXPECT_EQ(t.numa_nodes[0].cores, (std::vector<unsigned>{0, 1, 2, 3}));
  EXPECT_EQ(t.cores[15].numa, 3);
  EXPECT_EQ(t.cores[15].package, 1);
  EXPECT_EQ(t.packages[1].numa_nodes, (std::vector<unsigned>{2, 3}));
}

TEST(NodeTopology, BadSyntheticDescriptionIsRejected) {
  EXPECT_THROW(NodeTopology::synthetic("banana:3"), std::invalid_argument);
}

TEST(NodeTopology, ThisMachineIsConsistent) {
  auto t = NodeTopology::discover();
  ASSERT_FALSE(t.cores.empty());
  ASSERT_FALSE(t.packages.empty());
  ASSERT_FALSE(t.numa_nodes.empty());
  unsigned pus = 0;
  for (const auto& c : t.cores) pus += static_cast<unsigned>(c.pus.size());
  EXPECT_EQ(pus, t.pu_count);
  auto json = t.to_json();
  for (const char* key :
       {"hostname", "packages", "numa_nodes", "cores", "caches", "nics", "gpus"}) {
    EXPECT_TRUE(json.contains(key)) << key;
  }
}
