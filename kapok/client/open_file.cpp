// SPDX-License-Identifier: GPL-2.0-or-later
#include "kapok/client/open_file.h"

#include "converge/log.h"

#include <algorithm>

namespace kapok {

OpenFile::OpenFile(Client& client, std::uint64_t ino, OpenFileOptions options)
    : client_(client),
      ino_(ino),
      options_(options),
      buffers_(std::max<std::size_t>(1, options.buffers)) {}

OpenFile::~OpenFile() {
  try {
    flush();
  } catch (const std::exception& e) {
    converge::log::error("inode {}: buffered data lost at close: {}", ino_, e.what());
  }
}

void OpenFile::send(Buffer& b) {
  if (b.data.empty()) return;
  client_.write(ino_, b.offset, b.data);
  b.data.clear();
}

void OpenFile::write(std::uint64_t offset, std::string_view data) {
  std::lock_guard lock(mutex_);
  cache_.clear();  // what was read ahead may now be stale
  if (data.size() >= options_.buffer_bytes) {
    flush_locked();  // large writes go straight out, after what came before them
    client_.write(ino_, offset, data);
    return;
  }
  // Continue a buffer that ends where this write starts.
  for (auto& b : buffers_) {
    if (!b.data.empty() && b.offset + b.data.size() == offset &&
        b.data.size() + data.size() <= options_.buffer_bytes) {
      b.data.append(data);
      return;
    }
  }
  // Anything overlapping buffered bytes must not be reordered with them.
  bool overlaps = false;
  for (const auto& b : buffers_) {
    overlaps |=
        !b.data.empty() && offset < b.offset + b.data.size() && b.offset < offset + data.size();
  }
  if (overlaps) flush_locked();
  auto free = std::find_if(buffers_.begin(), buffers_.end(),
                           [](const Buffer& b) { return b.data.empty(); });
  if (free == buffers_.end()) {
    free = std::max_element(buffers_.begin(), buffers_.end(), [](const Buffer& a, const Buffer& b) {
      return a.data.size() < b.data.size();
    });
    send(*free);  // the fullest buffer goes out to make room
  }
  free->offset = offset;
  free->data.assign(data);
  free->data.reserve(options_.buffer_bytes);
}

std::string OpenFile::read(std::uint64_t offset, std::size_t length) {
  std::lock_guard lock(mutex_);
  flush_locked();
  if (offset >= cache_offset_ && offset + length <= cache_offset_ + cache_.size()) {
    next_read_ = offset + length;
    return cache_.substr(offset - cache_offset_, length);
  }
  bool sequential = offset == next_read_ && offset > 0;
  next_read_ = offset + length;
  if (!sequential || options_.read_ahead <= length) {
    cache_.clear();
    return client_.read(ino_, offset, length);
  }
  cache_offset_ = offset;
  cache_ = client_.read(ino_, offset, length + options_.read_ahead);
  return cache_.substr(0, std::min(length, cache_.size()));
}

void OpenFile::flush_locked() {
  // Lowest offset first, so an extending file grows in order.
  std::vector<Buffer*> order;
  for (auto& b : buffers_) {
    if (!b.data.empty()) order.push_back(&b);
  }
  std::sort(order.begin(), order.end(),
            [](const Buffer* a, const Buffer* b) { return a->offset < b->offset; });
  for (Buffer* b : order) send(*b);
}

void OpenFile::flush() {
  std::lock_guard lock(mutex_);
  flush_locked();
}

void OpenFile::fsync() {
  std::lock_guard lock(mutex_);
  flush_locked();
  client_.fsync(ino_);
}

bool OpenFile::dirty() {
  std::lock_guard lock(mutex_);
  return std::any_of(buffers_.begin(), buffers_.end(),
                     [](const Buffer& b) { return !b.data.empty(); });
}

}  // namespace kapok
