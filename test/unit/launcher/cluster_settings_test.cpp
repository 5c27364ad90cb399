// SPDX-License-Identifier: GPL-2.0-or-later
#include "cluster_settings.h"
#include "local_cluster.h"
#include "virtual_network.h"

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

TEST(VirtualNetwork, EachClusterHasItsOwnAddressesAndShortLinkNames) {
  using converge::cluster::NetworkPlan;
  ClusterSettings s;
  s.nodes = 64;
  s.controller_port = 65000 - 64;
  auto plan = NetworkPlan::for_cluster(s.controller_port, s.node_names());
  EXPECT_EQ(plan.address_of(0).rfind("198.", 0), 0u);
  EXPECT_NE(plan.address_of(0), plan.address_of(63));
  EXPECT_NE(plan.address_of(63), plan.controller_address());
  // Linux limits interface names to 15 characters.
  for (const auto& name : {plan.bridge_of(20), plan.node_link(63), plan.uplink_up(20),
                           plan.uplink_down(20), std::string("eth0")})
    EXPECT_LE(name.size(), 15u) << name;
  auto other = NetworkPlan::for_cluster(26817, s.node_names());
  auto third = NetworkPlan::for_cluster(28817, s.node_names());
  EXPECT_NE(other.prefix, third.prefix);
  EXPECT_NE(other.tag, third.tag);
  auto wrapped = other.in_namespace("n2", {"slurmd", "-N", "n2"});
  EXPECT_EQ(wrapped.front(), "nsenter");
  EXPECT_EQ(wrapped.at(1), "--net=/run/netns/cv26817-n2");
  EXPECT_EQ(wrapped.back(), "n2");
}

TEST(VirtualNetwork, LinkRatesAreReadAsTcWritesThem) {
  using converge::cluster::burst_bytes_for;
  EXPECT_EQ(burst_bytes_for("200mbit"), 250000u);  // 10 ms of it
  EXPECT_EQ(burst_bytes_for("1gbit"), 1250000u);
  EXPECT_EQ(burst_bytes_for("1mbit"), 32768u);  // never below 32 KiB
  for (const char* bad : {"", "fast", "200", "mbit", "-1mbit", "200 parsecs"})
    EXPECT_THROW(burst_bytes_for(bad), converge::cluster::ClusterError) << bad;
  ClusterSettings s;
  s.uplink_rate = "200mbit";
  EXPECT_THROW(s.validate(), Error);  // a rate needs hosts with links of their own
  s.hosts = true;
  EXPECT_NO_THROW(s.validate());
}
