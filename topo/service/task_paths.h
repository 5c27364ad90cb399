// SPDX-License-Identifier: GPL-2.0-or-later
//
// Where a worker's tasks may read. A task names its input as "kapok:/..."
// (beneath the job's Kapok mount) or as an absolute path beneath one of the
// directories the worker was allowed (--allow). The file is opened with
// openat2(RESOLVE_BENEATH) from the root's own descriptor, so neither ".."
// nor a symlink planted in the tree leads out of it, and the task then reads
// that very file through /proc/self/fd (no second lookup to race with).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace topo::service {

class OpenedInput {
 public:
  explicit OpenedInput(int fd) : fd_(fd) {}
  ~OpenedInput();
  OpenedInput(OpenedInput&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  OpenedInput& operator=(OpenedInput&&) = delete;
  OpenedInput(const OpenedInput&) = delete;
  OpenedInput& operator=(const OpenedInput&) = delete;

  // A name that opens this file again (for code that opens by name).
  std::string path() const;
  std::uint64_t size() const;

 private:
  int fd_;
};

class TaskPaths {
 public:
  // `kapok_mount` may be empty (no Kapok paths); `allowed` are absolute.
  TaskPaths(std::string kapok_mount, std::vector<std::string> allowed);

  // Throws std::invalid_argument when the path is not beneath an allowed
  // root (or leads out of it), std::runtime_error when it cannot be opened.
  OpenedInput open(const std::string& path) const;

 private:
  std::string kapok_mount_;
  std::vector<std::string> allowed_;
};

}  // namespace topo::service
