// SPDX-License-Identifier: GPL-2.0-or-later
#include "cluster_settings.h"

#include <gtest/gtest.h>

using converge::cluster::ClusterSettings;
using converge::config::Error;
using converge::config::parse;

TEST(ClusterSettings, DefaultsDescribeFourNodes) {
  ClusterSettings s;
  EXPECT_EQ(s.node_names(), (std::vector<std::string>{"n1", "n2", "n3", "n4"}));
  EXPECT_EQ(s.slurmd_port(0), s.controller_port + 1);
  EXPECT_NO_THROW(s.validate());
}

TEST(ClusterSettings, ConfigSectionAppliesAndRoundTrips) {
  auto json = parse(R"({"nodes": 16, "cpus_per_node": 4, "stock": true, "controller_port": 20000})",
                    "c.json");
  ClusterSettings s = ClusterSettings::from_json(json, "c.json");
  EXPECT_EQ(s.nodes, 16);
  EXPECT_TRUE(s.stock);
  ClusterSettings back = ClusterSettings::from_json(s.to_json(), "state");
  EXPECT_TRUE(back.same_shape(s));
  EXPECT_EQ(back.dir, s.dir);
}

TEST(ClusterSettings, RejectsBadValues) {
  EXPECT_THROW(ClusterSettings::from_json(parse(R"({"nodes": 0})", "c"), "c"), Error);
  EXPECT_THROW(ClusterSettings::from_json(parse(R"({"nodes": 65})", "c"), "c"), Error);
  EXPECT_THROW(ClusterSettings::from_json(parse(R"({"node": 4})", "c"), "c"), Error);
  ClusterSettings s;
  s.dir = "relative/dir";
  EXPECT_THROW(s.validate(), Error);
  s = ClusterSettings{};
  s.controller_port = 65530;
  s.nodes = 16;
  EXPECT_THROW(s.validate(), Error);
}
