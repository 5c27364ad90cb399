// SPDX-License-Identifier: GPL-2.0-or-later
//
// Network isolation for communication-heavy jobs: while a heavy job runs,
// the leaf switches it uses are its own, so no other job is placed on their
// remaining nodes and its traffic shares no leaf with anyone.
#pragma once

#include "converge/switch_tree.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace converge::sched {

class Isolation {
 public:
  // A heavy job started on `nodes`: it claims every leaf they hang off.
  void claim(std::uint32_t job, const std::vector<std::string>& nodes, const SwitchTree& tree);
  void release(std::uint32_t job);
  void clear() { claimed_.clear(); }

  // Nodes that `job` may not use: the leaves other heavy jobs claimed.
  std::set<std::string> blocked_for(std::uint32_t job) const;
  bool empty() const { return claimed_.empty(); }

 private:
  std::map<std::uint32_t, std::set<std::string>> claimed_;  // job -> nodes of its leaves
};

}  // namespace converge::sched
