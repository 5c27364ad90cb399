// SPDX-License-Identifier: GPL-2.0-or-later
//
// Where directory entries live. An ordinary directory keeps all its entries
// on one metadata server, its home. A directory that grows past the split
// threshold is divided into kVirtualDirs virtual directories by a hash of
// each file name, and each virtual directory is placed on a metadata server
// by consistent hashing, so one huge directory is served by all of them and
// adding a server moves only about 1/N of the virtual directories.
#pragma once

#include "converge/hash_ring.h"

#include <cstdint>
#include <string_view>

namespace kapok {

class Placement {
 public:
  static constexpr std::uint32_t kVirtualDirs = 128;

  explicit Placement(std::uint32_t mds_count);

  std::uint32_t mds_count() const { return mds_count_; }
  std::uint32_t home(std::uint64_t dir) const;
  static std::uint32_t virtual_dir_of(std::string_view name);
  std::uint32_t server_of_virtual_dir(std::uint64_t dir, std::uint32_t vdir) const;
  // The server of `name` in `dir`, split or not.
  std::uint32_t server_of(std::uint64_t dir, std::string_view name, bool split) const;

 private:
  std::uint32_t owner(std::string_view key) const;

  std::uint32_t mds_count_;
  converge::HashRing ring_;
};

}  // namespace kapok
