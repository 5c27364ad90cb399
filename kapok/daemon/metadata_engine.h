// SPDX-License-Identifier: GPL-2.0-or-later
//
// Kapok's flat key-value metadata engine: no local file system per record.
//
// The device (a file or a block device) holds a superblock and equal-sized
// block groups. A group, when allocated, gets one block size (256 B ... 128 KiB)
// and a new generation; records are appended to it log-style, one record per
// block, each carrying a CRC32, a global sequence number and the group's
// generation. An in-memory hash table maps each key to its record's place,
// so a read is one device read (or none, while the record is still buffered).
//
// Each block-size class has an active buffer that appends fill and a
// read-only buffer the flusher thread writes out; they swap when the active
// one fills or a commit is due, so writers never wait for the device unless
// they wait for durability. put() and remove() return once their record is
// on the device: with Durability::sync a commit starts at once; with
// Durability::group_commit the flusher commits at least every
// `commit_window`, and writers in that window share one fdatasync.
//
// Recovery rebuilds the index by scanning the allocated groups: a record is
// valid if its magic, generation and CRC agree; the newest sequence number
// per key wins. Groups whose records are all dead are freed at once;
// otherwise the flusher compacts the emptiest group (moving its live records)
// when free groups run short. Freeing bumps nothing on disk but the group's
// header, so stale records of an older generation are never revived.
#pragma once

#include "kapok/common/durability.h"
#include "kapok/common/settings.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kapok {

struct EngineOptions {
  std::string device_path;
  // From Settings, the only source of their defaults.
  std::uint64_t device_bytes = Settings{}.device_bytes;  // used when creating a device file
  Durability durability = Settings{}.durability;
  std::chrono::microseconds commit_window = Settings{}.commit_window;
  // The engine's own layout.
  std::uint32_t group_bytes = 4u << 20;
  std::vector<std::uint32_t> block_sizes{256, 1024, 4096, 16384, 131072};
  std::uint32_t buffer_bytes = 256u << 10;  // per buffer, at least one block of each class

  // The engine of a metadata server with these settings, on `device_path`.
  static EngineOptions from(const Settings& settings, std::string device_path);
};

// A record whose checksum does not match: reported, never served.
class CorruptRecord : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class NoSpace : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct EngineStats {
  std::uint64_t live_keys = 0;
  std::uint64_t groups_total = 0;
  std::uint64_t groups_free = 0;
  std::uint64_t compactions = 0;
  std::uint64_t corrupt_records = 0;  // found by recovery
  std::uint64_t commits = 0;
};

class MetadataEngine {
 public:
  static constexpr std::size_t kMaxKey = 1024;
  static constexpr std::size_t kRecordHeader = 28;

  // Opens (recovering the index) or creates the device.
  static std::unique_ptr<MetadataEngine> open(const EngineOptions& options);
  virtual ~MetadataEngine() = default;

  // Both return once the record is durable. Throw NoSpace when full.
  void put(std::string_view key, std::string_view value) { wait_durable(put_nowait(key, value)); }
  bool remove(std::string_view key) {
    std::uint64_t seq = remove_nowait(key);
    if (seq) wait_durable(seq);
    return seq != 0;
  }
  // The same without waiting: the change is visible to readers at once and
  // durable once wait_durable(returned sequence number) returns. Callers that
  // must not hold their own locks across a device sync use these.
  virtual std::uint64_t put_nowait(std::string_view key, std::string_view value) = 0;
  virtual std::uint64_t remove_nowait(std::string_view key) = 0;  // 0 if absent
  virtual void wait_durable(std::uint64_t seq) = 0;
  // False if absent; throws CorruptRecord if the stored record fails its CRC.
  virtual bool get(std::string_view key, std::string& value) = 0;
  virtual bool contains(std::string_view key) = 0;
  virtual void for_each_key(const std::function<void(std::string_view)>& fn) = 0;

  virtual std::size_t max_value_size(std::size_t key_size) const = 0;
  virtual EngineStats stats() = 0;
  // Compacts until no group can be reclaimed (for tests and tools).
  virtual void compact() = 0;
};

}  // namespace kapok
