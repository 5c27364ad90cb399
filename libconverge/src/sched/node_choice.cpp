// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/sched/node_choice.h"

#include <algorithm>
#include <map>

namespace converge::sched {
namespace {

struct Leaf {
  std::size_t index;
  std::vector<std::string> free;  // available nodes under it, in tree order
  std::size_t size;               // all its nodes
  bool whole() const { return free.size() == size; }
};

// The top-most switch above a leaf that is at most `level` levels up: leaves
// under the same ancestor at a low level are close together.
std::size_t ancestor(const SwitchTree& tree, std::size_t leaf, int level) {
  std::size_t s = leaf;
  while (tree.switches()[s].parent && tree.switches()[*tree.switches()[s].parent].level <= level)
    s = *tree.switches()[s].parent;
  return s;
}

// Takes leaves (largest first, so as few as possible) until `count` nodes.
std::optional<NodeChoice> take(std::vector<const Leaf*> leaves, unsigned count, bool whole_only) {
  std::stable_sort(leaves.begin(), leaves.end(),
                   [](const Leaf* a, const Leaf* b) { return a->free.size() > b->free.size(); });
  NodeChoice c;
  c.isolated = true;
  for (const Leaf* l : leaves) {
    if (c.nodes.size() >= count) break;
    if (whole_only && !l->whole()) continue;
    std::size_t want = std::min<std::size_t>(l->free.size(), count - c.nodes.size());
    c.nodes.insert(c.nodes.end(), l->free.begin(),
                   l->free.begin() + static_cast<std::ptrdiff_t>(want));
    ++c.leaf_switches;
    c.isolated = c.isolated && l->whole() && want == l->size;
  }
  if (c.nodes.size() < count) return std::nullopt;
  return c;
}

}  // namespace

unsigned leaf_switches_of(const SwitchTree& tree, const std::vector<std::string>& nodes) {
  std::set<std::size_t> leaves;
  unsigned outside = 0;
  for (const auto& n : nodes) {
    if (auto l = tree.leaf_of(n))
      leaves.insert(*l);
    else
      ++outside;
  }
  return static_cast<unsigned>(leaves.size()) + outside;
}

std::optional<NodeChoice> choose_nodes(const SwitchTree& tree,
                                       const std::set<std::string>& available,
                                       const NodeRequest& request) {
  if (request.nodes == 0 || available.size() < request.nodes) return std::nullopt;
  std::vector<Leaf> leaves;
  std::vector<std::string> outside;  // available nodes the tree does not know
  std::set<std::string> known;
  for (std::size_t i = 0; i < tree.switches().size(); ++i) {
    const Switch& s = tree.switches()[i];
    if (s.nodes.empty()) continue;
    Leaf l{i, {}, s.nodes.size()};
    for (const auto& n : s.nodes) {
      known.insert(n);
      if (available.contains(n)) l.free.push_back(n);
    }
    if (!l.free.empty()) leaves.push_back(std::move(l));
  }
  for (const auto& n : available) {
    if (!known.contains(n)) outside.push_back(n);
  }
  std::vector<const Leaf*> all;
  all.reserve(leaves.size());
  for (const auto& l : leaves) all.push_back(&l);

  // One leaf: heavy jobs want a whole one; others the tightest fit, which
  // keeps whole leaves whole.
  const Leaf* single = nullptr;
  for (const Leaf* l : all) {
    if (l->free.size() < request.nodes) continue;
    if (request.heavy && !l->whole()) continue;
    if (!single || l->free.size() < single->free.size() ||
        (l->free.size() == single->free.size() && !l->whole() && single->whole()))
      single = l;
  }
  if (single) {
    NodeChoice c;
    c.nodes.assign(single->free.begin(), single->free.begin() + request.nodes);
    c.leaf_switches = 1;
    c.isolated = single->whole() && request.nodes == single->size;
    return c;
  }
  // Several leaves: the lowest common level that can hold the job, and under
  // it the group with the fewest spare nodes (tightest); heavy jobs try whole
  // leaves first.
  int top = 0;
  for (const auto& s : tree.switches()) top = std::max(top, s.level);
  for (bool whole_only : {request.heavy, false}) {
    for (int level = 1; level <= top; ++level) {
      std::map<std::size_t, std::vector<const Leaf*>> groups;
      for (const Leaf* l : all) groups[ancestor(tree, l->index, level)].push_back(l);
      std::optional<NodeChoice> best;
      std::size_t best_spare = 0;
      for (auto& [root, members] : groups) {
        auto c = take(members, request.nodes, whole_only);
        if (!c) continue;
        std::size_t spare = 0;
        for (const Leaf* l : members) spare += l->free.size();
        spare -= request.nodes;
        if (!best || c->leaf_switches < best->leaf_switches ||
            (c->leaf_switches == best->leaf_switches && spare < best_spare)) {
          best = c;
          best_spare = spare;
        }
      }
      if (best) return best;
    }
    if (!request.heavy) break;
  }
  // Across everything, nodes outside the tree last.
  auto c = take(all, request.nodes, false);
  if (!c) c = NodeChoice{};
  for (const auto& n : outside) {
    if (c->nodes.size() >= request.nodes) break;
    c->nodes.push_back(n);
    ++c->leaf_switches;
    c->isolated = false;
  }
  if (c->nodes.size() < request.nodes) return std::nullopt;
  return c;
}

}  // namespace converge::sched
