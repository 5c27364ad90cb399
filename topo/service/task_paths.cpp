// SPDX-License-Identifier: GPL-2.0-or-later
#include "topo/service/task_paths.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace topo::service {
namespace {

std::string without_trailing_slash(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

// `rest` opened beneath the directory `root`; -1 with errno on failure.
int open_beneath(const std::string& root, const std::string& rest) {
  int dir = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return -1;
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  std::string relative = rest.empty() ? "." : rest;
  int fd = static_cast<int>(syscall(SYS_openat2, dir, relative.c_str(), &how, sizeof how));
  int err = errno;
  ::close(dir);
  errno = err;
  return fd;
}

}  // namespace

OpenedInput::~OpenedInput() {
  if (fd_ >= 0) ::close(fd_);
}

std::string OpenedInput::path() const {
  return fmt::format("/proc/self/fd/{}", fd_);
}

std::uint64_t OpenedInput::size() const {
  struct stat st {};
  if (fstat(fd_, &st) != 0) throw std::runtime_error(std::strerror(errno));
  return static_cast<std::uint64_t>(st.st_size);
}

TaskPaths::TaskPaths(std::string kapok_mount, std::vector<std::string> allowed)
    : kapok_mount_(kapok_mount.empty() ? "" : without_trailing_slash(std::move(kapok_mount))) {
  for (auto& a : allowed) {
    if (a.empty() || a[0] != '/') throw std::invalid_argument("--allow " + a + ": not absolute");
    allowed_.push_back(without_trailing_slash(std::move(a)));
  }
}

OpenedInput TaskPaths::open(const std::string& path) const {
  std::string root, rest;
  if (path.rfind("kapok:/", 0) == 0) {
    if (kapok_mount_.empty())
      throw std::invalid_argument(path + ": a Kapok path, but this worker has no Kapok mount");
    root = kapok_mount_;
    rest = path.substr(7);
  } else if (!path.empty() && path[0] == '/') {
    for (const auto& a : allowed_) {
      if (a == "/" || path == a || path.rfind(a + "/", 0) == 0) {
        root = a;
        rest = path.substr(a == "/" ? 1 : std::min(path.size(), a.size() + 1));
        break;
      }
    }
    if (root.empty()) {
      throw std::invalid_argument(
          path + ": outside what this job's tasks may read (its Kapok mount and --allow)");
    }
  } else {
    throw std::invalid_argument(path + ": expected kapok:/PATH or an absolute path");
  }
  int fd = open_beneath(root, rest);
  if (fd < 0 && errno == EXDEV)
    throw std::invalid_argument(path + ": leads out of " + root + " (.. or a symbolic link)");
  if (fd < 0 && errno == ELOOP)
    throw std::invalid_argument(path + ": a symbolic link that leads out of " + root);
  if (fd < 0) throw std::runtime_error(fmt::format("{}: {}", path, std::strerror(errno)));
  return OpenedInput(fd);
}

}  // namespace topo::service
