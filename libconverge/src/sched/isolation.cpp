// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/sched/isolation.h"

namespace converge::sched {

void Isolation::claim(std::uint32_t job, const std::vector<std::string>& nodes,
                      const SwitchTree& tree) {
  std::set<std::string> claimed;
  for (const auto& node : nodes) {
    claimed.insert(node);
    if (auto leaf = tree.leaf_of(node)) {
      for (const auto& n : tree.switches()[*leaf].nodes) claimed.insert(n);
    }
  }
  claimed_[job] = std::move(claimed);
}

void Isolation::release(std::uint32_t job) {
  claimed_.erase(job);
}

std::set<std::string> Isolation::blocked_for(std::uint32_t job) const {
  std::set<std::string> out;
  for (const auto& [owner, nodes] : claimed_) {
    if (owner != job) out.insert(nodes.begin(), nodes.end());
  }
  return out;
}

}  // namespace converge::sched
