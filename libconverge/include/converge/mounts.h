// SPDX-License-Identifier: GPL-2.0-or-later
//
// Mount points as /proc/self/mounts lists them, for the services that mount
// file systems (Kapok's FUSE client) and the code that must leave none behind.
#pragma once

#include <string>

namespace converge::mounts {

// True if a file system is mounted at `path`; with `type`, only of that type
// ("fuse.kapok").
bool is_mounted(const std::string& path, const std::string& type = "");

// Detaches the mount at `path` (lazily, so a dead FUSE daemon's mount goes
// too): umount2 as root, fusermount3 otherwise. True if nothing is mounted
// there afterwards.
bool unmount(const std::string& path);

}  // namespace converge::mounts
