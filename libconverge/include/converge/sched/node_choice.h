// SPDX-License-Identifier: GPL-2.0-or-later
//
// Topology-aware node choice on the switch tree: a job's nodes should hang
// off as few leaf switches as possible, and those as close together as
// possible. Communication-heavy jobs get whole leaf switches to themselves
// when that is possible (an isolated network group); other jobs take the
// tightest fit, so that whole free leaves stay free for heavy jobs.
#pragma once

#include "converge/switch_tree.h"

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace converge::sched {

struct NodeRequest {
  unsigned nodes = 1;
  bool heavy = false;  // --converge-comm=heavy
};

struct NodeChoice {
  std::vector<std::string> nodes;
  unsigned leaf_switches = 0;
  bool isolated = false;  // every leaf used is wholly the job's
};

// Picks from `available` (nodes able to run the job now); nullopt if there
// are not enough.
std::optional<NodeChoice> choose_nodes(const SwitchTree& tree,
                                       const std::set<std::string>& available,
                                       const NodeRequest& request);

// Leaf switches spanned by `nodes` (nodes outside the tree count one each).
unsigned leaf_switches_of(const SwitchTree& tree, const std::vector<std::string>& nodes);

}  // namespace converge::sched
