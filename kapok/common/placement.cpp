// SPDX-License-Identifier: GPL-2.0-or-later
#include "kapok/common/placement.h"

#include <charconv>
#include <stdexcept>
#include <string>

namespace kapok {
namespace {

// Ring keys: a directory alone (its home) or with a virtual directory.
std::string ring_key(std::uint64_t dir, std::uint32_t vdir, bool with_vdir) {
  std::string key(reinterpret_cast<const char*>(&dir), sizeof dir);
  if (with_vdir) key.append(reinterpret_cast<const char*>(&vdir), sizeof vdir);
  return key;
}

}  // namespace

Placement::Placement(std::uint32_t mds_count) : mds_count_(mds_count) {
  if (mds_count == 0) throw std::invalid_argument("no metadata servers");
  // Members are named by index, so server i keeps its arcs when others join.
  for (std::uint32_t i = 0; i < mds_count; ++i) ring_.add("mds" + std::to_string(i));
}

std::uint32_t Placement::owner(std::string_view key) const {
  const std::string& name = ring_.owner(key);
  std::uint32_t index = 0;
  std::from_chars(name.data() + 3, name.data() + name.size(), index);
  return index;
}

std::uint32_t Placement::home(std::uint64_t dir) const {
  return owner(ring_key(dir, 0, false));
}

std::uint32_t Placement::virtual_dir_of(std::string_view name) {
  return static_cast<std::uint32_t>(converge::stable_hash(name, 0x6b61706f6b) % kVirtualDirs);
}

std::uint32_t Placement::server_of_virtual_dir(std::uint64_t dir, std::uint32_t vdir) const {
  return owner(ring_key(dir, vdir, true));
}

std::uint32_t Placement::server_of(std::uint64_t dir, std::string_view name, bool split) const {
  return split ? server_of_virtual_dir(dir, virtual_dir_of(name)) : home(dir);
}

}  // namespace kapok
