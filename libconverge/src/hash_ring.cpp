// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/hash_ring.h"

#include <xxhash.h>

#include <algorithm>

namespace converge {

std::uint64_t stable_hash(std::string_view bytes, std::uint64_t seed) {
  return XXH64(bytes.data(), bytes.size(), seed);
}

void HashRing::add(const std::string& member) {
  if (std::find(members_.begin(), members_.end(), member) != members_.end()) return;
  members_.push_back(member);
  for (unsigned i = 0; i < points_per_member_; ++i) {
    // A point collision (vanishingly rare) keeps the earlier owner.
    ring_.emplace(stable_hash(member, i), member);
  }
}

void HashRing::remove(const std::string& member) {
  auto it = std::find(members_.begin(), members_.end(), member);
  if (it == members_.end()) return;
  members_.erase(it);
  std::erase_if(ring_, [&](const auto& point) { return point.second == member; });
}

const std::string& HashRing::owner(std::string_view key) const {
  if (ring_.empty()) throw std::logic_error("hash ring has no members");
  auto it = ring_.lower_bound(stable_hash(key));
  return it == ring_.end() ? ring_.begin()->second : it->second;
}

}  // namespace converge
