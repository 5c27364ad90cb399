// SPDX-License-Identifier: GPL-2.0-or-later
//
// The local cluster's nodes as hosts of their own (`converge-cluster up
// --hosts`): each node a network namespace with one address, attached to a
// Linux bridge per switch of the cluster's switch tree (topology.conf), each
// switch joined to its parent by a veth uplink that `tc tbf` may limit. The
// controller and the commands stay in this host's namespace, with an address
// on the top bridge. The addresses come from 198.18.0.0/15 (RFC 2544's
// benchmarking range, never routed): one /24 per cluster, picked by its
// controller port, and exist only on this machine.
//
// Every namespace and link carries the cluster's tag ("cv" and the port), so
// `remove` finds what `create` made without a record of its own.
#pragma once

#include "converge/switch_tree.h"

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace converge::cluster {

struct NetworkPlan {
  std::string tag;     // "cv26817": prefix of every namespace and link name
  std::string prefix;  // "198.18.193.": the cluster's /24
  std::vector<std::string> nodes;
  std::string uplink_rate;  // tc rate ("200mbit") of switch uplinks; empty: unlimited
  std::string link_rate;    // of each node's own link; empty: unlimited

  static NetworkPlan for_cluster(int controller_port, std::vector<std::string> nodes,
                                 std::string uplink_rate = {}, std::string link_rate = {});

  std::string controller_address() const { return prefix + "254"; }
  std::string address_of(std::size_t node_index) const {
    return prefix + std::to_string(node_index + 1);
  }
  std::string namespace_of(const std::string& node) const { return tag + "-" + node; }
  // Runs argv inside the node's network namespace only (the mount namespace
  // stays this host's: the file system is shared, as a site's home is).
  std::vector<std::string> in_namespace(const std::string& node,
                                        std::vector<std::string> argv) const;
  // The links: a switch's bridge, a node's link (host side), a switch's
  // uplink (its two ends: in its own bridge and in its parent's).
  std::string bridge_of(std::size_t switch_index) const;
  std::string node_link(std::size_t node_index) const;
  std::string uplink_up(std::size_t switch_index) const;
  std::string uplink_down(std::size_t switch_index) const;
};

// Bytes through one link of the cluster, as its host-side end counts them.
struct LinkCounters {
  std::string link;            // "cv26817d1"
  std::string kind;            // "uplink": a switch's link to its parent; "node": a node's own link
  std::string owner;           // the switch or the node
  std::uint64_t upward = 0;    // toward the top switch (a node's: what it sent)
  std::uint64_t downward = 0;  // from it (a node's: what it received)
};

class VirtualNetwork {
 public:
  explicit VirtualNetwork(NetworkPlan plan) : plan_(std::move(plan)) {}

  // True if every node's namespace exists.
  bool exists() const;
  // Builds the namespaces, bridges and links for `tree` (a leftover of an
  // earlier run goes first); throws ClusterError naming the command that
  // failed.
  void create(const SwitchTree& tree, std::ostream& out) const;
  // Removes every namespace and link with the plan's tag; returns how many.
  int remove() const;
  // The counters of every link of the cluster built for `tree`: the
  // switches' uplinks, then the nodes' links.
  std::vector<LinkCounters> counters(const SwitchTree& tree) const;

  const NetworkPlan& plan() const { return plan_; }

 private:
  NetworkPlan plan_;
};

// tc's burst for a rate: 10 ms of it, at least 32 KiB (tbf needs at least
// one timer tick's worth). Throws ClusterError for a rate tc would not read.
std::uint64_t burst_bytes_for(const std::string& rate);

}  // namespace converge::cluster
