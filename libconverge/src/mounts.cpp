// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/mounts.h"

#include "converge/process.h"

#include <sys/mount.h>
#include <unistd.h>

#include <fstream>

namespace converge::mounts {

bool is_mounted(const std::string& path, const std::string& type) {
  std::ifstream table("/proc/self/mounts");
  std::string device, where, fs_type, rest;
  while (table >> device >> where >> fs_type && std::getline(table, rest)) {
    if (where == path && (type.empty() || fs_type == type)) return true;
  }
  return false;
}

bool unmount(const std::string& path) {
  if (!is_mounted(path)) return true;
  if (geteuid() == 0) {
    // UMOUNT_NOFOLLOW: a symlink swapped in at the path (in a directory its
    // user may write) must not lead root to detach some other mount.
    umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
  } else {
    process::run({"fusermount3", "-u", "-z", path});
  }
  return !is_mounted(path);
}

}  // namespace converge::mounts
