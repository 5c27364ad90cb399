// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/job_directory.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace converge {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& what) {
  throw JobDirectoryError(what);
}

std::string os_error() {
  return std::strerror(errno);
}

// Makes each missing component of `dir` with mode 0755 (whatever the umask).
void make_parents(const fs::path& dir) {
  fs::path at;
  for (const auto& part : dir) {
    at /= part;
    if (mkdir(at.c_str(), 0755) == 0) {
      if (chmod(at.c_str(), 0755) != 0) fail(fmt::format("chmod {}: {}", at.string(), os_error()));
    } else if (errno != EEXIST) {
      fail(fmt::format("cannot create {}: {}", at.string(), os_error()));
    }
  }
}

void check_parent(const fs::path& parent) {
  struct stat st {};
  if (lstat(parent.c_str(), &st) != 0) fail(fmt::format("{}: {}", parent.string(), os_error()));
  if (!S_ISDIR(st.st_mode))
    fail(
        fmt::format("{} is not a directory (a symlink or a file): refusing to make job "
                    "directories there",
                    parent.string()));
  if (st.st_uid != 0 && st.st_uid != geteuid())
    fail(
        fmt::format("{} belongs to uid {}, not root: that user could replace other users' job "
                    "directories (an admin should remove it)",
                    parent.string(), st.st_uid));
  bool shared_writable = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
  if (shared_writable && !(st.st_mode & S_ISVTX))
    fail(fmt::format("{} is writable by other users without the sticky bit (mode {:o})",
                     parent.string(), st.st_mode & 07777));
}

}  // namespace

void check_job_directory_parent(const std::string& parent) {
  check_parent(parent);
}

JobDirectoryOutcome prepare_job_directory(const std::string& path, uid_t uid, gid_t gid) {
  fs::path dir(path);
  if (!dir.is_absolute() || dir.filename().empty() || !dir.has_parent_path())
    fail(fmt::format("job directory \"{}\" must be an absolute path", path));
  fs::path parent = dir.parent_path();
  make_parents(parent);
  check_parent(parent);

  JobDirectoryOutcome outcome = JobDirectoryOutcome::kCreated;
  if (mkdir(path.c_str(), 0700) != 0) {
    if (errno != EEXIST) fail(fmt::format("cannot create {}: {}", path, os_error()));
    outcome = JobDirectoryOutcome::kAlreadyThere;
  }
  // Checked through a descriptor opened without following links, so what is
  // checked and changed is the directory itself, not what a name points to.
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) fail(fmt::format("{} is not a directory of its own: {}", path, os_error()));
  struct stat st {};
  bool ok = fstat(fd, &st) == 0;
  std::string problem;
  if (!ok) {
    problem = fmt::format("{}: {}", path, os_error());
  } else if (outcome == JobDirectoryOutcome::kCreated) {
    if (fchown(fd, uid, gid) != 0 || fchmod(fd, 0700) != 0)
      problem = fmt::format("cannot give {} to uid {}: {}", path, uid, os_error());
  } else if (st.st_uid != uid) {
    problem = fmt::format("{} already exists and belongs to uid {}, not to the job's user {}", path,
                          st.st_uid, uid);
  }
  close(fd);
  if (!problem.empty()) fail(problem);
  return outcome;
}

}  // namespace converge
