// SPDX-License-Identifier: GPL-2.0-or-later
//
// Mount points as /proc/self/mounts lists them, for the services that mount
// file systems (Kapok's FUSE client) and the code that must leave none behind.
#pragma once

#include <sys/types.h>

#include <string>

namespace converge::mounts {

// True if a file system is mounted at `path`; with `type`, only of that type
// ("fuse.kapok").
bool is_mounted(const std::string& path, const std::string& type = "");

// Detaches the mount at `path` (lazily, so a dead FUSE daemon's mount goes
// too): umount2 as root, fusermount3 otherwise. True if nothing is mounted
// there afterwards. For the caller's own mounts; root cleaning up after a
// user uses unmount_owned.
bool unmount(const std::string& path);

enum class UnmountOutcome {
  kDetached,
  kNotMounted,  // nothing of `type` owned by `owner` at the path
  kRefused,     // the path is not one root may follow (see unmount_owned)
  kFailed,
};

// Detaches the FUSE mount of `type` at `path` only if a FUSE daemon of
// `owner` serves it (the kernel's user_id= of the mount). Meant for root
// cleaning up after a job: the path runs through the job's own directory,
// which its user may rearrange at any moment, so as root it is walked one
// component at a time without following symlinks and without looking up
// anything inside a FUSE file system (whose daemon could stall the walk),
// and the mount the walk reached, not the path, is checked and detached.
// `reason`, if given, gets a one-line why for kRefused and kFailed.
UnmountOutcome unmount_owned(const std::string& path, const std::string& type, uid_t owner,
                             std::string* reason = nullptr);

}  // namespace converge::mounts
