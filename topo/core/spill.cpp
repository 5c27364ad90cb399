// SPDX-License-Identifier: GPL-2.0-or-later
//
// Context::exchange through files (core/spill.h).
#include "topo/core/spill.h"

#include "topo/core/context.h"
#include "topo/core/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace topo {
namespace {

[[noreturn]] void fail(const std::string& path, const char* what) {
  throw std::runtime_error(path + ": cannot " + what + ": " + std::strerror(errno));
}

void write_file(const std::string& path, const char* data, std::size_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail(path, "create");
  for (std::size_t done = 0; done < size;) {
    ssize_t n = ::write(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      fail(path, "write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) fail(path, "close");
}

void read_file(const std::string& path, char* to, std::size_t size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, "open");
  for (std::size_t done = 0; done < size;) {
    ssize_t n = ::read(fd, to + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      errno = n == 0 ? EIO : errno;
      fail(path, "read");
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
}

}  // namespace

SpillMode parse_spill_mode(const std::string& name) {
  if (name == "off") return SpillMode::off;
  if (name == "shared-file") return SpillMode::shared_file;
  if (name == "file-per-pair") return SpillMode::file_per_pair;
  throw std::invalid_argument("unknown spill mode \"" + name +
                              "\": expected off, shared-file or file-per-pair");
}

const char* spill_mode_name(SpillMode mode) {
  switch (mode) {
    case SpillMode::off:
      return "off";
    case SpillMode::shared_file:
      return "shared-file";
    case SpillMode::file_per_pair:
      return "file-per-pair";
  }
  return "?";
}

Received Context::exchange_through_files(const std::vector<char>& send,
                                         const std::vector<std::size_t>& send_offsets,
                                         const std::vector<int>& send_counts,
                                         const std::vector<int>& recv_counts) const {
  const std::string base = (std::filesystem::path(spill_.dir) /
                            (spill_prefix_ + "-" + std::to_string(shuffle_sequence_++)))
                               .string();
  Received in;
  in.offsets.assign(size_ + 1, 0);
  for (int r = 0; r < size_; ++r)
    in.offsets[r + 1] = in.offsets[r] + static_cast<std::size_t>(recv_counts[r]);
  in.bytes.resize(in.offsets.back());
  ++spill_stats_.shuffles;

  if (spill_.mode == SpillMode::shared_file) {
    const std::vector<char>& mine = send;
    std::uint64_t start = exclusive_sum(mine.size());
    // Where each piece for rank r starts in the file, and where the pieces
    // for this rank are.
    std::vector<std::uint64_t> piece_at(size_), theirs(size_);
    std::uint64_t at = start;
    for (int r = 0; r < size_; ++r) {
      piece_at[r] = at;
      at += static_cast<std::uint64_t>(send_counts[r]);
    }
    MPI_Alltoall(piece_at.data(), 1, MPI_UINT64_T, theirs.data(), 1, MPI_UINT64_T, comm_);
    {
      SharedFile file(comm_, base + ".bin", SharedFile::Mode::scratch);
      if (rank_ == 0) ++spill_stats_.files_created;
      ++spill_stats_.opens;
      // Each rank's region is contiguous: an independent write, no
      // two-phase collective buffering (which costs more than it saves here).
      file.write_at(start, mine.data(), mine.size());
      spill_stats_.bytes_written += mine.size();
      file.sync();  // every rank's writes visible to every rank's reads
      for (int r = 0; r < size_; ++r) {
        if (recv_counts[r] == 0) continue;
        auto piece = file.read_at(theirs[r], static_cast<std::uint64_t>(recv_counts[r]));
        std::memcpy(in.bytes.data() + in.offsets[r], piece.data(), piece.size());
      }
    }  // closed by all ranks: deleted
    if (rank_ == 0) ++spill_stats_.removals;
    return in;
  }

  auto pair_path = [&](int from, int to) {
    return base + "-" + std::to_string(from) + "-" + std::to_string(to);
  };
  // A failure on one rank must stop all of them, not leave the others
  // waiting: each phase ends by agreeing on whether anyone failed.
  std::string problem;
  auto agree = [&] {
    if (sum(problem.empty() ? 0 : 1) == 0) return;
    throw std::runtime_error(problem.empty() ? "topo: another rank's shuffle files failed"
                                             : problem);
  };
  try {
    for (int r = 0; r < size_; ++r) {
      if (send_counts[r] == 0) continue;
      write_file(pair_path(rank_, r), send.data() + send_offsets[r],
                 static_cast<std::size_t>(send_counts[r]));
      ++spill_stats_.files_created;
      ++spill_stats_.opens;
      spill_stats_.bytes_written += static_cast<std::uint64_t>(send_counts[r]);
    }
  } catch (const std::runtime_error& e) {
    problem = e.what();
  }
  agree();  // also: every file written before anyone reads
  try {
    for (int r = 0; r < size_; ++r) {
      if (recv_counts[r] == 0) continue;
      std::string path = pair_path(r, rank_);
      read_file(path, in.bytes.data() + in.offsets[r], static_cast<std::size_t>(recv_counts[r]));
      ++spill_stats_.opens;
      if (::unlink(path.c_str()) != 0) fail(path, "remove");
      ++spill_stats_.removals;
    }
  } catch (const std::runtime_error& e) {
    problem = e.what();
  }
  agree();
  return in;
}

}  // namespace topo
