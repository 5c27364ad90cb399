// SPDX-License-Identifier: GPL-2.0-or-later
//
// The cluster's network as Slurm's topology/tree plugin sees it: switches
// from topology.conf, leaves holding nodes, parents holding switches. Parsed
// for placement and tests; generated for the local virtual cluster.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace converge {

class TopologyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Switch {
  std::string name;
  std::vector<std::string> nodes;     // nodes attached directly (leaf switch)
  std::vector<std::size_t> children;  // indices of child switches
  std::optional<std::size_t> parent;
  int level = 0;  // 0 for leaves, parent = 1 + max child level
};

class SwitchTree {
 public:
  // Parses topology.conf text; errors name ORIGIN:LINE.
  static SwitchTree parse(std::string_view text, std::string_view origin);
  static SwitchTree load_file(const std::string& path);

  // A tree for a virtual cluster: leaves of `leaf_size` nodes, then levels of
  // at most `fan_out` switches each, up to a single root named "spine".
  static SwitchTree generate(const std::vector<std::string>& nodes, std::size_t leaf_size,
                             std::size_t fan_out);
  // The layout converge-cluster uses for N nodes: 2 nodes per leaf up to 8
  // nodes, 4 per leaf beyond; at most 4 switches under each parent.
  static SwitchTree for_virtual_cluster(const std::vector<std::string>& nodes);

  std::string to_conf() const;

  const std::vector<Switch>& switches() const { return switches_; }
  std::optional<std::size_t> find_switch(std::string_view name) const;
  std::optional<std::size_t> leaf_of(std::string_view node) const;
  std::vector<std::size_t> roots() const;
  std::vector<std::string> nodes() const;  // in leaf order

  // Links crossed between two nodes: 0 for the same node, 2 under one leaf,
  // 4 under one level-1 switch, ...; nullopt when not connected.
  std::optional<int> distance(std::string_view a, std::string_view b) const;

 private:
  void link();  // resolves names, sets parents and levels, checks structure

  std::vector<Switch> switches_;
  std::vector<std::vector<std::string>> child_names_;  // as written, until link()
  std::unordered_map<std::string, std::size_t> leaf_by_node_;
};

}  // namespace converge
