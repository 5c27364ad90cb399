// SPDX-License-Identifier: GPL-2.0-or-later
//
// Consistent hashing: members (servers) own arcs of a 64-bit ring through
// many virtual points each, so keys spread evenly and adding or removing one
// of N members moves only about 1/N of the keys. Hashes are xxHash64, stable
// across processes and machines.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace converge {

std::uint64_t stable_hash(std::string_view bytes, std::uint64_t seed = 0);

class HashRing {
 public:
  explicit HashRing(unsigned points_per_member = 128) : points_per_member_(points_per_member) {}

  void add(const std::string& member);     // no effect if present
  void remove(const std::string& member);  // no effect if absent
  // Throws std::logic_error on an empty ring.
  const std::string& owner(std::string_view key) const;

  const std::vector<std::string>& members() const { return members_; }
  bool empty() const { return members_.empty(); }

 private:
  unsigned points_per_member_;
  std::vector<std::string> members_;
  std::map<std::uint64_t, std::string> ring_;
};

}  // namespace converge
