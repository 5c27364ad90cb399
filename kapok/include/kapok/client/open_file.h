// SPDX-License-Identifier: GPL-2.0-or-later
//
// An open file in libkapok: write aggregation and sequential read-ahead.
//
// Short writes that continue one another are merged in memory (several
// buffers, so interleaved streams merge too) and sent as one large write when
// a buffer fills, on flush(), fsync() and close. Reads first send any
// buffered bytes, so a reader always sees what was written; a read that
// continues the previous one fetches a larger window ahead and serves the
// next reads from it.
#pragma once

#include "kapok/client/client.h"

#include <mutex>
#include <string>
#include <vector>

namespace kapok {

struct OpenFileOptions {
  std::size_t buffers = 4;
  std::size_t buffer_bytes = 1u << 20;
  std::size_t read_ahead = 1u << 20;
};

class OpenFile {
 public:
  OpenFile(Client& client, std::uint64_t ino, OpenFileOptions options = {});
  ~OpenFile();  // flushes; errors there are lost, so callers flush() first
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;

  void write(std::uint64_t offset, std::string_view data);
  std::string read(std::uint64_t offset, std::size_t length);
  void flush();  // every buffered byte reaches the servers
  void fsync();  // and is durable
  bool dirty();

  std::uint64_t ino() const { return ino_; }

 private:
  struct Buffer {
    std::uint64_t offset = 0;
    std::string data;
  };
  void flush_locked();
  void send(Buffer& b);

  Client& client_;
  std::uint64_t ino_;
  OpenFileOptions options_;
  std::mutex mutex_;
  std::vector<Buffer> buffers_;  // in use: data non-empty
  std::uint64_t cache_offset_ = 0;
  std::string cache_;            // read-ahead window
  std::uint64_t next_read_ = 0;  // where a sequential reader continues
};

}  // namespace kapok
