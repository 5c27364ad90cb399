// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/hostlist.h"
#include "converge/switch_tree.h"

#include <gtest/gtest.h>

using converge::SwitchTree;
using converge::TopologyError;

namespace {

std::string error_of(std::string_view text) {
  try {
    SwitchTree::parse(text, "topology.conf");
  } catch (const TopologyError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(SwitchTree, ParsesATwoLevelTree) {
  auto tree = SwitchTree::parse(
      "# comment\n"
      "SwitchName=s1 Nodes=n[1-2]\n"
      "SwitchName=s2 Nodes=n[3-4] LinkSpeed=100\n"
      "switchname=top switches=s[1-2]   # trailing comment\n",
      "topology.conf");
  ASSERT_EQ(tree.switches().size(), 3u);
  ASSERT_EQ(tree.roots().size(), 1u);
  EXPECT_EQ(tree.switches()[tree.roots()[0]].name, "top");
  EXPECT_EQ(tree.switches()[tree.roots()[0]].level, 1);
  EXPECT_EQ(tree.switches()[*tree.leaf_of("n3")].name, "s2");
  EXPECT_EQ(tree.distance("n1", "n1"), 0);
  EXPECT_EQ(tree.distance("n1", "n2"), 2);
  EXPECT_EQ(tree.distance("n1", "n4"), 4);
  EXPECT_EQ(tree.distance("n1", "nX"), std::nullopt);
}

TEST(SwitchTree, ErrorsNameTheLine) {
  EXPECT_EQ(error_of("SwitchName=a Nodes=n1\nSwitchName=b Foo=1\n"),
            "topology.conf:2: unknown key \"Foo\"");
  EXPECT_EQ(error_of("Nodes=n1\n"), "topology.conf:1: missing SwitchName=");
  EXPECT_EQ(error_of("SwitchName=a Nodes=n[1-\n"),
            "topology.conf:1: unbalanced '[' in host list \"n[1-\"");
  EXPECT_EQ(error_of("SwitchName=a\n"),
            "topology.conf:1: switch \"a\" has neither Nodes= nor Switches=");
  EXPECT_EQ(error_of("SwitchName=a Nodes=n1\nSwitchName=a Nodes=n2\n"),
            "topology.conf:2: switch \"a\" defined twice");
}

TEST(SwitchTree, StructuralErrors) {
  EXPECT_EQ(error_of("SwitchName=top Switches=missing\n"),
            "topology.conf: switch \"top\" lists unknown switch \"missing\"");
  EXPECT_EQ(error_of("SwitchName=a Nodes=n1\nSwitchName=b Nodes=n1\n"),
            "topology.conf: node \"n1\" is under two switches (\"a\" and \"b\")");
  EXPECT_EQ(error_of("SwitchName=a Switches=b\nSwitchName=b Switches=a\n"),
            "topology.conf: switch \"a\" is in a cycle");
  EXPECT_EQ(error_of(""), "topology.conf: no switches defined");
}

TEST(SwitchTree, VirtualClusterOfFourHasTwoLeavesUnderASpine) {
  auto tree = SwitchTree::for_virtual_cluster(converge::hostlist::expand("n[1-4]"));
  EXPECT_EQ(tree.to_conf(),
            "SwitchName=leaf1 Nodes=n[1-2]\n"
            "SwitchName=leaf2 Nodes=n[3-4]\n"
            "SwitchName=spine Switches=leaf[1-2]\n");
}

TEST(SwitchTree, LargerClustersGetDeeperTrees) {
  for (int n : {1, 3, 8, 16, 17, 40, 64}) {
    std::vector<std::string> nodes;
    for (int i = 1; i <= n; ++i) nodes.push_back("n" + std::to_string(i));
    auto tree = SwitchTree::for_virtual_cluster(nodes);
    EXPECT_EQ(tree.nodes(), nodes) << n;
    EXPECT_EQ(tree.roots().size(), 1u) << n;
    for (const auto& sw : tree.switches()) {
      EXPECT_LE(sw.nodes.size(), n <= 8 ? 2u : 4u) << sw.name;
      EXPECT_LE(sw.children.size(), 4u) << sw.name;
    }
    // What we write, Slurm (and we) can read back unchanged.
    auto reread = SwitchTree::parse(tree.to_conf(), "generated");
    EXPECT_EQ(reread.to_conf(), tree.to_conf()) << n;
  }
  std::vector<std::string> nodes;
  for (int i = 1; i <= 40; ++i) nodes.push_back("n" + std::to_string(i));
  auto tree = SwitchTree::for_virtual_cluster(nodes);
  EXPECT_EQ(tree.switches()[tree.roots()[0]].level,
            2);  // 10 leaves -> 3 aggregation switches -> spine
  EXPECT_EQ(tree.distance("n1", "n40"), 6);
}
