// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/mounts.h"

#include "converge/process.h"
#include "converge/unique_fd.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

namespace converge::mounts {
namespace {

struct MountEntry {
  std::string fs_type;
  std::string super_options;  // "rw,user_id=1000,group_id=1000,..."
};

// The entry of mount `id` in /proc/self/mountinfo:
// "ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER_OPTIONS".
std::optional<MountEntry> mount_entry(int id) {
  std::ifstream table("/proc/self/mountinfo");
  std::string line;
  const std::string prefix = fmt::format("{} ", id);
  while (std::getline(table, line)) {
    if (line.compare(0, prefix.size(), prefix) != 0) continue;
    auto dash = line.find(" - ");
    if (dash == std::string::npos) return std::nullopt;
    std::istringstream tail(line.substr(dash + 3));
    MountEntry e;
    std::string source;
    tail >> e.fs_type >> source >> e.super_options;
    return e;
  }
  return std::nullopt;
}

// The id of the mount `fd` lies on, from the kernel's own record of the
// descriptor (no file system is asked, so no FUSE daemon can stall this).
std::optional<int> mount_id_of(int fd) {
  std::ifstream info(fmt::format("/proc/self/fdinfo/{}", fd));
  std::string key;
  while (info >> key) {
    if (key == "mnt_id:") {
      int id = -1;
      if (info >> id) return id;
      return std::nullopt;
    }
    info.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return std::nullopt;
}

bool is_fuse(const std::string& fs_type) {
  return fs_type == "fuse" || fs_type == "fuseblk" || fs_type.starts_with("fuse.");
}

bool has_option(const std::string& options, const std::string& wanted) {
  std::istringstream split(options);
  std::string o;
  while (std::getline(split, o, ',')) {
    if (o == wanted) return true;
  }
  return false;
}

}  // namespace

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

UnmountOutcome unmount_owned(const std::string& path, const std::string& type, uid_t owner,
                             std::string* reason) {
  auto fail = [&](UnmountOutcome outcome, std::string why) {
    if (reason) *reason = fmt::format("{}: {}", path, why);
    return outcome;
  };
  if (geteuid() != 0) {
    // fusermount3 detaches only the caller's own mounts.
    if (!is_mounted(path, type)) return UnmountOutcome::kNotMounted;
    return unmount(path) ? UnmountOutcome::kDetached
                         : fail(UnmountOutcome::kFailed, "fusermount3 -u failed");
  }
  // No first look at the mount table: the path could change right after it.
  if (path.empty() || path[0] != '/') return fail(UnmountOutcome::kRefused, "not absolute");

  UniqueFd dir(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return fail(UnmountOutcome::kFailed, std::strerror(errno));
  std::istringstream components(path);
  std::string name;
  while (std::getline(components, name, '/')) {
    if (name.empty() || name == ".") continue;
    if (name == "..") return fail(UnmountOutcome::kRefused, "'..' in the path");
    // Never look a name up inside a FUSE file system: its daemon (perhaps
    // the job user's own) decides when, if ever, the lookup returns.
    auto id = mount_id_of(dir.get());
    auto entry = id ? mount_entry(*id) : std::nullopt;
    if (!entry) return fail(UnmountOutcome::kFailed, "cannot find the mount of a parent");
    if (is_fuse(entry->fs_type)) {
      return fail(UnmountOutcome::kRefused, "a parent directory lies on a FUSE file system");
    }
    open_how how{};
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    UniqueFd next(
        static_cast<int>(syscall(SYS_openat2, dir.get(), name.c_str(), &how, sizeof how)));
    if (!next) {
      if (errno == ELOOP) return fail(UnmountOutcome::kRefused, "a symlink in the path");
      if (errno == ENOENT || errno == ENOTDIR) return UnmountOutcome::kNotMounted;
      return fail(UnmountOutcome::kFailed, std::strerror(errno));
    }
    dir = std::move(next);
  }
  // `dir` holds the mount it reached, so its id cannot be reused meanwhile.
  auto id = mount_id_of(dir.get());
  auto entry = id ? mount_entry(*id) : std::nullopt;
  if (!entry || entry->fs_type != type ||
      !has_option(entry->super_options, fmt::format("user_id={}", owner))) {
    return UnmountOutcome::kNotMounted;
  }
  // Through the descriptor, not the path: whatever the path names now, the
  // mount checked above is the one detached (EINVAL if `dir` is not its root).
  if (umount2(fmt::format("/proc/self/fd/{}", dir.get()).c_str(), MNT_DETACH) != 0) {
    return fail(UnmountOutcome::kFailed, std::strerror(errno));
  }
  return UnmountOutcome::kDetached;
}

}  // namespace converge::mounts
