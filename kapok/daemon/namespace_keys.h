// SPDX-License-Identifier: GPL-2.0-or-later
//
// How the metadata server names its records in the engine: 'i' + inode
// number (big-endian, so an inode's records sort together) for an inode,
// 'd' + directory + name for an entry, 's' + directory for "this directory
// is split over all servers". Private to the namespace service.
#pragma once

#include "converge/rpc/wire.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace kapok {

inline std::string inode_key(std::uint64_t ino) {
  converge::wire::Writer w;
  w.u8('i');
  for (int i = 7; i >= 0; --i) w.u8(static_cast<std::uint8_t>(ino >> (8 * i)));
  return w.take();
}

inline std::string dentry_key(std::uint64_t dir, std::string_view name) {
  std::string key = inode_key(dir);
  key[0] = 'd';
  key.append(name);
  return key;
}

inline std::string split_key(std::uint64_t dir) {
  std::string key = inode_key(dir);
  key[0] = 's';
  return key;
}

inline std::uint64_t ino_of_key(std::string_view key) {
  std::uint64_t ino = 0;
  for (int i = 1; i <= 8; ++i) ino = (ino << 8) | static_cast<unsigned char>(key[i]);
  return ino;
}

}  // namespace kapok
