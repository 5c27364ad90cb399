// SPDX-License-Identifier: GPL-2.0-or-later
#include "kapok/daemon/chunk_service.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace fs = std::filesystem;

namespace kapok {
namespace {

using converge::rpc::Error;
using converge::wire::Reader;
using converge::wire::Writer;

// Closes the descriptor on every path out.
class File {
 public:
  explicit File(int fd) : fd_(fd) {}
  ~File() {
    if (fd_ >= 0) ::close(fd_);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

[[noreturn]] void fail(const std::string& what) {
  throw Error(errno, fmt::format("{}: {}", what, std::strerror(errno)));
}

}  // namespace

ChunkService::ChunkService(std::string data_dir, std::uint32_t ds_index)
    : root_(std::move(data_dir) + "/chunks"), index_(ds_index) {
  fs::create_directories(root_);
}

std::string ChunkService::chunk_dir(std::uint64_t ino) const {
  return fmt::format("{}/{:016x}", root_, ino);
}

std::string ChunkService::chunk_path(std::uint64_t ino, std::uint64_t chunk) const {
  return fmt::format("{}/{}", chunk_dir(ino), chunk);
}

void ChunkService::register_methods(converge::rpc::Server& server) {
  server.handle(kChunkWrite,
                [this](Reader& in, Writer&) {
                  std::uint64_t ino = in.u64(), chunk = in.u64(), offset = in.u64();
                  std::string_view bytes = in.bytes();
                  std::string path = chunk_path(ino, chunk);
                  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
                  if (fd < 0 && errno == ENOENT) {
                    fs::create_directories(chunk_dir(ino));
                    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
                  }
                  if (fd < 0) fail("open chunk");
                  File file(fd);
                  while (!bytes.empty()) {
                    ssize_t n =
                        ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
                    if (n < 0 && errno == EINTR) continue;
                    if (n <= 0) fail("write chunk");
                    bytes.remove_prefix(static_cast<std::size_t>(n));
                    offset += static_cast<std::uint64_t>(n);
                  }
                },
                {converge::rpc::Access::kOwner, converge::rpc::kMaxFrame});
  server.handle(kChunkRead, [this](Reader& in, Writer& out) {
    std::uint64_t ino = in.u64(), chunk = in.u64(), offset = in.u64(), length = in.u64();
    if (length > converge::rpc::kMaxFrame / 2) throw Error(EINVAL, "read too large");
    int fd = ::open(chunk_path(ino, chunk).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {  // a hole: nothing written there yet
      out.bytes({});
      return;
    }
    if (fd < 0) fail("open chunk");
    File file(fd);
    std::string data(length, '\0');
    std::size_t got = 0;
    while (got < length) {
      ssize_t n = ::pread(fd, data.data() + got, length - got, static_cast<off_t>(offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("read chunk");
      if (n == 0) break;
      got += static_cast<std::size_t>(n);
    }
    out.bytes(std::string_view(data).substr(0, got));
  });
  server.handle(kChunkTruncate, [this](Reader& in, Writer&) {
    std::uint64_t ino = in.u64(), keep_chunk = in.u64(), keep_length = in.u64();
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(chunk_dir(ino), ec)) {
      std::uint64_t chunk = std::stoull(entry.path().filename().string());
      if (chunk > keep_chunk || (chunk == keep_chunk && keep_length == 0)) {
        fs::remove(entry.path(), ec);
      } else if (chunk == keep_chunk &&
                 ::truncate(entry.path().c_str(), static_cast<off_t>(keep_length)) != 0) {
        fail("truncate chunk");
      }
    }
  });
  server.handle(kChunkRemove, [this](Reader& in, Writer&) {
    std::error_code ec;
    fs::remove_all(chunk_dir(in.u64()), ec);
  });
  server.handle(kChunkFsync, [this](Reader& in, Writer&) {
    std::uint64_t ino = in.u64();
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(chunk_dir(ino), ec)) {
      int fd = ::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) fail("open chunk");
      File file(fd);
      if (::fsync(fd) != 0) fail("fsync chunk");
    }
    int dir = ::open(chunk_dir(ino).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      File file(dir);
      ::fsync(dir);  // the chunk files' names too
    }
  });
  server.handle(kDsStatus, [this](Reader&, Writer& out) {
    struct statvfs vfs {};
    statvfs(root_.c_str(), &vfs);
    nlohmann::json j{{"role", "ds"},
                     {"index", index_},
                     {"bytes_total", std::uint64_t{vfs.f_blocks} * vfs.f_frsize},
                     {"bytes_free", std::uint64_t{vfs.f_bavail} * vfs.f_frsize}};
    out.bytes(j.dump());
  });
}

}  // namespace kapok
