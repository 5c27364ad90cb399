// SPDX-License-Identifier: GPL-2.0-or-later
#include "cluster_settings.h"
#include "local_cluster.h"
#include "virtual_network.h"

#include "converge/net.h"
#include "converge/switch_tree.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <iostream>
#include <sstream>

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

namespace {

// Runs `body` in a child process inside the namespace; returns its exit code.
int in_namespace(const std::string& ns, const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) _exit(100);
    _exit(body());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// Sends `bytes` from node `from` to node `to` over TCP, each side in its
// node's namespace; returns the seconds it took, or a negative number if the
// transfer failed.
double send_between(const converge::cluster::NetworkPlan& plan, const std::string& from,
                    std::size_t to, std::size_t bytes) {
  int ready[2];
  if (pipe(ready) != 0) return -1;
  pid_t receiver = fork();
  if (receiver == 0) {  // accept one connection and read it to the end
    int fd =
        open(("/run/netns/" + plan.namespace_of(plan.nodes[to])).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) _exit(100);
    auto listening = converge::net::listen_tcp(plan.address_of(to), 5001);
    [[maybe_unused]] auto n = write(ready[1], "r", 1);
    int c = accept(listening.get(), nullptr, nullptr);
    std::vector<char> buffer(1 << 16);
    std::size_t got = 0;
    for (ssize_t r; (r = read(c, buffer.data(), buffer.size())) > 0;) got += std::size_t(r);
    _exit(got == bytes ? 0 : 1);
  }
  char byte;
  bool listening = read(ready[0], &byte, 1) == 1;
  close(ready[0]);
  close(ready[1]);
  auto t0 = std::chrono::steady_clock::now();
  int sent = !listening ? 1 : in_namespace(plan.namespace_of(from), [&] {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(5001);
    inet_pton(AF_INET, plan.address_of(to).c_str(), &address.sin_addr);
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return 2;
    std::vector<char> data(bytes, 'x');
    for (std::size_t off = 0; off < data.size();) {
      ssize_t w = write(fd, data.data() + off, data.size() - off);
      if (w <= 0) return 3;
      off += std::size_t(w);
    }
    close(fd);
    return 0;
  });
  int status = 0;
  waitpid(receiver, &status, 0);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  bool received = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return sent == 0 && received ? seconds : -1;
}

}  // namespace

// A 4-host network of its own (two leaves of two under a spine) with 40 Mbit/s
// uplinks: 4 MiB between hosts of different leaves take about 0.8 s, and
// show on the uplinks' counters; `remove` leaves nothing behind.
TEST(VirtualNetwork, UplinkRateLimitsTrafficBetweenLeaves) {
  if (geteuid() != 0) GTEST_SKIP() << "makes network namespaces: needs root";
  using namespace converge::cluster;
  std::vector<std::string> nodes{"n1", "n2", "n3", "n4"};
  VirtualNetwork network(NetworkPlan::for_cluster(65011, nodes, "40mbit"));
  network.remove();
  std::ostringstream log;
  const auto tree = converge::SwitchTree::for_virtual_cluster(nodes);
  ASSERT_NO_THROW(network.create(tree, log));
  ASSERT_TRUE(network.exists());
  const std::size_t kBytes = 4 << 20;
  double seconds = send_between(network.plan(), "n1", 2, kBytes);  // n1 to n3, the other leaf
  std::uint64_t on_uplinks = 0;
  std::uint64_t sent_by_n1 = 0;
  for (const auto& link : network.counters(tree)) {
    if (link.kind == "uplink") on_uplinks += link.downward;
    if (link.owner == "n1") sent_by_n1 = link.upward;
  }
  network.remove();
  EXPECT_FALSE(network.exists());
  ASSERT_GT(seconds, 0) << "the transfer failed";
  // 4 MiB at 40 Mbit/s: 0.84 s (unshaped, a few milliseconds).
  EXPECT_GT(seconds, 0.6) << "the uplink was not limited";
  EXPECT_LT(seconds, 20.0);
  EXPECT_GE(on_uplinks, kBytes) << "the data did not cross the uplinks";
  EXPECT_GE(sent_by_n1, kBytes) << "n1's own link does not count what n1 sent";
  std::cout << "4 MiB across 40mbit uplinks in " << seconds << " s\n";
}

// --link-rate limits each node's own link: 4 MiB between the two hosts of one
// leaf (no uplink on the way, and uplinks unlimited) take about 0.8 s at
// 40 Mbit/s, and none of it shows on the uplinks.
TEST(VirtualNetwork, LinkRateLimitsEachNodesOwnLink) {
  if (geteuid() != 0) GTEST_SKIP() << "makes network namespaces: needs root";
  using namespace converge::cluster;
  std::vector<std::string> nodes{"n1", "n2", "n3", "n4"};
  VirtualNetwork network(NetworkPlan::for_cluster(65012, nodes, "", "40mbit"));
  network.remove();
  std::ostringstream log;
  const auto tree = converge::SwitchTree::for_virtual_cluster(nodes);
  ASSERT_NO_THROW(network.create(tree, log));
  const std::size_t kBytes = 4 << 20;
  double seconds = send_between(network.plan(), "n1", 1, kBytes);  // n1 to n2, one leaf
  std::uint64_t on_uplinks = 0, received_by_n2 = 0;
  for (const auto& link : network.counters(tree)) {
    if (link.kind == "uplink") on_uplinks += link.upward + link.downward;
    if (link.owner == "n2") received_by_n2 = link.downward;
  }
  network.remove();
  EXPECT_FALSE(network.exists());
  ASSERT_GT(seconds, 0) << "the transfer failed";
  EXPECT_GT(seconds, 0.6) << "the node links were not limited";
  EXPECT_LT(seconds, 20.0);
  EXPECT_GE(received_by_n2, kBytes);
  EXPECT_LT(on_uplinks, kBytes / 16) << "traffic within a leaf crossed an uplink";
  std::cout << "4 MiB across a 40mbit node link in " << seconds << " s\n";
}
