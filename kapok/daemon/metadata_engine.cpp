// SPDX-License-Identifier: GPL-2.0-or-later
#include "kapok/daemon/metadata_engine.h"

#include "kapok/daemon/record_format.h"

#include "converge/log.h"
#include "converge/mutex.h"
#include "converge/rpc/wire.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <system_error>
#include <thread>
#include <unordered_map>

namespace kapok {
namespace {

namespace log = converge::log;
using converge::wire::Reader;
using converge::wire::Writer;
using namespace record_format;

constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void pwrite_all(int fd, std::string_view data, std::uint64_t offset) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_errno("pwrite");
    data.remove_prefix(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
}

void pread_all(int fd, char* out, std::size_t size, std::uint64_t offset) {
  while (size > 0) {
    ssize_t n = ::pread(fd, out, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("pread");
    if (n == 0) {  // past the end of a short device: reads as zeros
      std::memset(out, 0, size);
      return;
    }
    out += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
}

struct Location {
  std::uint32_t group = kNone;
  std::uint32_t block = 0;
  std::uint64_t seq = 0;
  Kind kind = kPut;
};

struct Group {
  std::uint32_t generation = 0;
  std::uint32_t block_size = 0;  // 0: free
  std::uint32_t next_block = 0;  // append position
  std::uint32_t live = 0;        // records the index points at
  std::uint64_t first_seq = 0;   // no record in the group is older
  bool freeing = false;          // queued to be freed once its superseders are durable
};

// A contiguous run of freshly appended blocks of one group, not yet on disk.
struct Buffer {
  std::uint32_t group = kNone;
  std::uint32_t first_block = 0;
  std::uint32_t blocks = 0;
  std::uint64_t min_seq = 0;
  std::string data;

  bool empty() const { return blocks == 0; }
  bool covers(std::uint32_t g, std::uint32_t b) const {
    return g == group && b >= first_block && b < first_block + blocks;
  }
};

struct SizeClass {
  std::uint32_t block_size = 0;
  std::uint32_t active_group = kNone;
  Buffer active;    // appends go here
  Buffer flushing;  // the flusher is writing this out
};

struct PendingFree {
  std::uint32_t group;
  std::uint64_t after_seq;  // free once everything up to here is durable
};

class DeviceEngine final : public MetadataEngine {
 public:
  explicit DeviceEngine(const EngineOptions& options) : options_(options) {}
  ~DeviceEngine() override;

  void start() CONVERGE_EXCLUDES(mutex_);

  std::uint64_t put_nowait(std::string_view key, std::string_view value) override;
  std::uint64_t remove_nowait(std::string_view key) override;
  void wait_durable(std::uint64_t seq) override;
  bool get(std::string_view key, std::string& value) override;
  bool contains(std::string_view key) override;
  void for_each_key(const std::function<void(std::string_view)>& fn) override;
  std::size_t max_value_size(std::size_t key_size) const override;
  EngineStats stats() override;
  void compact() override;

 private:
  // Functions that drop the mutex for I/O say so; they hold it again when
  // they return.
  void open_device() CONVERGE_REQUIRES(mutex_);
  void format() CONVERGE_REQUIRES(mutex_);
  void recover() CONVERGE_REQUIRES(mutex_);
  void recover_or_format() CONVERGE_REQUIRES(mutex_);
  void write_group_header(std::uint32_t g) CONVERGE_REQUIRES(mutex_);
  std::uint64_t group_offset(std::uint32_t g) const {
    return kHeaderBytes + std::uint64_t{g} * options_.group_bytes;
  }
  std::uint64_t block_offset(std::uint32_t g, std::uint32_t b) const CONVERGE_REQUIRES(mutex_) {
    return group_offset(g) + kHeaderBytes + std::uint64_t{b} * groups_[g].block_size;
  }
  std::uint32_t capacity(std::uint32_t g) const CONVERGE_REQUIRES(mutex_) {
    return (options_.group_bytes - kHeaderBytes) / groups_[g].block_size;
  }
  std::size_t class_for(std::size_t record_size) const;
  std::size_t class_of_block_size(std::uint32_t block_size) const;

  std::uint64_t append(Kind kind, std::string_view key, std::string_view value, std::size_t cls,
                       bool from_flusher) CONVERGE_REQUIRES(mutex_);
  void retire(const Location& old) CONVERGE_REQUIRES(mutex_);
  void wait_durable_locked(std::uint64_t seq) CONVERGE_REQUIRES(mutex_);
  std::uint32_t free_group_count() const CONVERGE_REQUIRES(mutex_);

  void flusher_loop() CONVERGE_EXCLUDES(mutex_);
  void commit_round() CONVERGE_REQUIRES(mutex_);
  void release_freed_groups() CONVERGE_REQUIRES(mutex_);
  bool compact_one(double max_live_ratio) CONVERGE_REQUIRES(mutex_);
  void check_failed() const CONVERGE_REQUIRES(mutex_);

  // Set by start() before the flusher runs, read-only after.
  EngineOptions options_;
  int fd_ = -1;
  std::uint32_t group_count_ = 0;

  mutable converge::Mutex mutex_;
  std::vector<Group> groups_ CONVERGE_GUARDED_BY(mutex_);
  // One per block size, in options_.block_sizes' order; the vector's shape
  // is fixed by start(), the buffers change under the mutex.
  std::vector<SizeClass> classes_ CONVERGE_GUARDED_BY(mutex_);
  std::unordered_map<std::string, Location> index_ CONVERGE_GUARDED_BY(mutex_);
  std::vector<PendingFree> pending_frees_ CONVERGE_GUARDED_BY(mutex_);
  converge::CondVar changed_;  // durability, buffers, free groups
  converge::CondVar work_;     // wakes the flusher
  std::uint64_t next_seq_ CONVERGE_GUARDED_BY(mutex_) = 1;
  std::uint64_t durable_seq_ CONVERGE_GUARDED_BY(mutex_) = 0;
  bool commit_requested_ CONVERGE_GUARDED_BY(mutex_) = false;
  bool compaction_requested_ CONVERGE_GUARDED_BY(mutex_) = false;
  // Compaction requests the flusher has handled, and whether the last freed a group.
  std::uint64_t compaction_rounds_ CONVERGE_GUARDED_BY(mutex_) = 0;
  bool compaction_progress_ CONVERGE_GUARDED_BY(mutex_) = false;
  bool full_compaction_ CONVERGE_GUARDED_BY(mutex_) = false;  // requested by compact()
  bool stopping_ CONVERGE_GUARDED_BY(mutex_) = false;
  int failed_errno_ CONVERGE_GUARDED_BY(mutex_) = 0;
  EngineStats stats_ CONVERGE_GUARDED_BY(mutex_);
  std::thread flusher_;
};

DeviceEngine::~DeviceEngine() {
  {
    converge::MutexLock lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  if (fd_ >= 0) ::close(fd_);
}

void DeviceEngine::open_device() {
  fd_ = ::open(options_.device_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) throw_errno(fmt::format("cannot open metadata device {}", options_.device_path));
  std::uint64_t size = static_cast<std::uint64_t>(::lseek(fd_, 0, SEEK_END));
  if (size == 0) {
    format();
    return;
  }
  std::string super(kHeaderBytes, '\0');
  pread_all(fd_, super.data(), super.size(), 0);
  Reader r(super);
  std::uint64_t magic = r.u64();
  std::uint32_t version = r.u32();
  std::uint32_t group_bytes = r.u32();
  std::uint32_t count = r.u32();
  std::uint32_t crc = r.u32();
  if (magic != kSuperMagic) {
    throw std::runtime_error(
        fmt::format("{} is not a Kapok metadata device", options_.device_path));
  }
  if (version != kFormatVersion || checksum(std::string_view(super).substr(0, 20)) != crc) {
    throw std::runtime_error(
        fmt::format("{}: bad superblock (version {} or checksum)", options_.device_path, version));
  }
  options_.group_bytes = group_bytes;
  group_count_ = count;
}

void DeviceEngine::format() {
  std::uint64_t bytes = options_.device_bytes;
  struct stat st;
  if (fstat(fd_, &st) == 0 && S_ISBLK(st.st_mode))
    bytes = static_cast<std::uint64_t>(::lseek(fd_, 0, SEEK_END));
  if (options_.group_bytes < 2 * kHeaderBytes + options_.block_sizes.back()) {
    throw std::invalid_argument("group size too small for the largest block size");
  }
  if (bytes < kHeaderBytes + 4ull * options_.group_bytes)
    throw std::invalid_argument("metadata device too small");
  group_count_ = static_cast<std::uint32_t>((bytes - kHeaderBytes) / options_.group_bytes);
  if (!S_ISBLK(st.st_mode) && ::ftruncate(fd_, static_cast<off_t>(bytes)) != 0)
    throw_errno("ftruncate");
  Writer w;
  w.u64(kSuperMagic);
  w.u32(kFormatVersion);
  w.u32(options_.group_bytes);
  w.u32(group_count_);
  w.u32(checksum(w.data()));
  std::string super = w.take();
  super.resize(kHeaderBytes, '\0');
  groups_.assign(group_count_, Group{});
  for (std::uint32_t g = 0; g < group_count_; ++g) write_group_header(g);
  pwrite_all(fd_, super, 0);
  if (::fdatasync(fd_) != 0) throw_errno("fdatasync");
  log::info("formatted metadata device {}: {} groups of {} KiB", options_.device_path, group_count_,
            options_.group_bytes >> 10);
}

void DeviceEngine::write_group_header(std::uint32_t g) {
  Writer w;
  w.u32(kGroupMagic);
  w.u32(groups_[g].generation);
  w.u32(groups_[g].block_size);
  w.u32(checksum(w.data()));
  std::string header = w.take();
  pwrite_all(fd_, header, group_offset(g));
}

void DeviceEngine::recover() {
  groups_.assign(group_count_, Group{});
  std::string data(options_.group_bytes, '\0');
  std::uint64_t max_seq = 0;
  for (std::uint32_t g = 0; g < group_count_; ++g) {
    // The header first: free groups (most of a young device) need no more.
    pread_all(fd_, data.data(), kHeaderBytes, group_offset(g));
    Reader r(std::string_view(data).substr(0, kHeaderBytes));
    std::uint32_t magic = r.u32(), generation = r.u32(), block_size = r.u32(), crc = r.u32();
    Group& group = groups_[g];
    if (magic != kGroupMagic || checksum(std::string_view(data).substr(0, 12)) != crc) {
      log::error("{}: group {} header is damaged; its records are ignored", options_.device_path,
                 g);
      ++stats_.corrupt_records;
      group.generation = generation + 1;  // never trust records written under it
      continue;
    }
    group.generation = generation;
    if (block_size == 0) continue;
    if (std::find(options_.block_sizes.begin(), options_.block_sizes.end(), block_size) ==
        options_.block_sizes.end()) {
      // The device was formatted with other block sizes: adopt them.
      options_.block_sizes.push_back(block_size);
      std::sort(options_.block_sizes.begin(), options_.block_sizes.end());
    }
    group.block_size = block_size;
    pread_all(fd_, data.data() + kHeaderBytes, data.size() - kHeaderBytes,
              group_offset(g) + kHeaderBytes);
    group.first_seq = std::numeric_limits<std::uint64_t>::max();
    std::uint32_t blocks = capacity(g);
    for (std::uint32_t b = 0; b < blocks; ++b) {
      std::string_view block =
          std::string_view(data).substr(kHeaderBytes + std::size_t{b} * block_size, block_size);
      Record rec;
      Parse p = parse_record(block, generation, rec);
      if (p == Parse::empty) continue;
      group.next_block = b + 1;
      if (p == Parse::corrupt) {
        log::error("{}: corrupt record in group {} block {} (checksum mismatch); ignored",
                   options_.device_path, g, b);
        ++stats_.corrupt_records;
        continue;
      }
      group.first_seq = std::min(group.first_seq, rec.seq);
      max_seq = std::max(max_seq, rec.seq);
      auto [it, inserted] = index_.try_emplace(std::string(rec.key));
      if (!inserted && it->second.seq > rec.seq) continue;  // an older version
      if (!inserted) --groups_[it->second.group].live;
      it->second = Location{g, b, rec.seq, rec.kind};
      ++group.live;
    }
  }
  next_seq_ = durable_seq_ = max_seq;
  ++next_seq_;
  for (std::uint32_t g = 0; g < group_count_; ++g) {
    if (groups_[g].block_size != 0 && groups_[g].live == 0) {
      groups_[g].block_size = 0;  // nothing live: free it (durably, before use)
      write_group_header(g);
    }
  }
  if (::fdatasync(fd_) != 0) throw_errno("fdatasync");
}

void DeviceEngine::start() {
  std::sort(options_.block_sizes.begin(), options_.block_sizes.end());
  {
    // No other thread yet; held for the analysis' sake and costs nothing.
    converge::MutexLock lock(mutex_);
    recover_or_format();
  }
  flusher_ = std::thread([this] { flusher_loop(); });
}

void DeviceEngine::recover_or_format() {
  open_device();
  const bool fresh = !groups_.empty();  // format() laid out a new device
  if (!fresh) recover();                // may adopt the device's block sizes
  classes_.clear();
  for (auto bs : options_.block_sizes) classes_.push_back(SizeClass{bs, kNone, {}, {}});
  // Continue appending in the newest group of each class that has room.
  for (std::uint32_t g = 0; g < group_count_; ++g) {
    if (groups_[g].block_size == 0 || groups_[g].next_block >= capacity(g)) continue;
    SizeClass& c = classes_[class_of_block_size(groups_[g].block_size)];
    if (c.active_group == kNone || groups_[c.active_group].first_seq < groups_[g].first_seq)
      c.active_group = g;
  }
  if (!fresh) {
    std::uint64_t keys = 0;
    for (const auto& [k, loc] : index_) keys += loc.kind == kPut;
    log::info("recovered metadata device {}: {} keys, {} of {} groups in use, {} corrupt record(s)",
              options_.device_path, keys, group_count_ - free_group_count(), group_count_,
              stats_.corrupt_records);
  }
}

// Classes are numbered as options_.block_sizes (sorted), which is fixed
// once start() returns: no lock needed.
std::size_t DeviceEngine::class_for(std::size_t record_size) const {
  const auto& sizes = options_.block_sizes;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] >= record_size) return i;
  }
  throw std::length_error(fmt::format("record of {} bytes exceeds the largest block ({} bytes)",
                                      record_size, sizes.back()));
}

std::size_t DeviceEngine::class_of_block_size(std::uint32_t block_size) const {
  const auto& sizes = options_.block_sizes;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == block_size) return i;
  }
  throw std::logic_error("unknown block size");
}

std::size_t DeviceEngine::max_value_size(std::size_t key_size) const {
  return options_.block_sizes.back() - kRecordHeader - key_size;
}

std::uint32_t DeviceEngine::free_group_count() const {
  std::uint32_t n = 0;
  for (const auto& g : groups_) n += g.block_size == 0;
  return n;
}

void DeviceEngine::check_failed() const {
  if (failed_errno_) {
    throw std::system_error(failed_errno_, std::generic_category(),
                            "metadata device write failed earlier");
  }
}

// Appends one record under the lock; returns its sequence number.
std::uint64_t DeviceEngine::append(Kind kind, std::string_view key, std::string_view value,
                                   std::size_t cls, bool from_flusher) {
  while (true) {
    check_failed();
    SizeClass& c = classes_[cls];
    const std::uint32_t buffer_blocks =
        std::max<std::uint32_t>(1, options_.buffer_bytes / c.block_size);
    bool group_full =
        c.active_group == kNone || groups_[c.active_group].next_block >= capacity(c.active_group);
    bool buffer_full = c.active.blocks >= buffer_blocks;
    if ((group_full || buffer_full) && !c.active.empty()) {
      if (c.flushing.empty()) {
        c.flushing = std::move(c.active);
        c.active = Buffer{};
        commit_requested_ = true;
        work_.notify_one();
      } else if (from_flusher) {
        commit_round();
      } else {
        commit_requested_ = true;
        work_.notify_one();
        changed_.wait(mutex_);
      }
      continue;
    }
    if (group_full) {
      // One free group stays in reserve for compaction to move records into.
      if (free_group_count() <= (from_flusher ? 0u : 1u)) {
        if (from_flusher) throw NoSpace("metadata device full");
        std::uint64_t round = compaction_rounds_;
        compaction_requested_ = true;
        work_.notify_one();
        while (compaction_rounds_ <= round && failed_errno_ == 0) changed_.wait(mutex_);
        if (free_group_count() <= 1 && !compaction_progress_) throw NoSpace("metadata device full");
        continue;
      }
      std::uint32_t g = 0;
      while (groups_[g].block_size != 0) ++g;
      groups_[g].generation += 1;
      groups_[g].block_size = c.block_size;
      groups_[g].next_block = 0;
      groups_[g].live = 0;
      groups_[g].first_seq = next_seq_;
      groups_[g].freeing = false;
      write_group_header(g);  // made durable by the same fdatasync as the records
      c.active_group = g;
      continue;
    }
    std::uint32_t g = c.active_group;
    if (c.active.empty()) {
      c.active.group = g;
      c.active.first_block = groups_[g].next_block;
      c.active.min_seq = next_seq_;
      c.active.data.assign(std::size_t{buffer_blocks} * c.block_size, '\0');
    }
    Record rec{next_seq_++, groups_[g].generation, kind, key, value};
    encode_record(c.active.data.data() + std::size_t{c.active.blocks} * c.block_size, c.block_size,
                  rec);
    Location loc{g, groups_[g].next_block, rec.seq, kind};
    ++groups_[g].next_block;
    ++c.active.blocks;
    auto [it, inserted] = index_.try_emplace(std::string(key));
    if (!inserted) retire(it->second);
    it->second = loc;
    ++groups_[g].live;
    return rec.seq;
  }
}

// The record at `old` was superseded: its group may become reclaimable.
void DeviceEngine::retire(const Location& old) {
  Group& group = groups_[old.group];
  if (--group.live == 0 && !group.freeing) {
    group.freeing = true;
    pending_frees_.push_back({old.group, next_seq_});
  }
}

void DeviceEngine::wait_durable(std::uint64_t seq) {
  converge::MutexLock lock(mutex_);
  wait_durable_locked(seq);
}

void DeviceEngine::wait_durable_locked(std::uint64_t seq) {
  if (durable_seq_ >= seq) return;
  if (options_.durability == Durability::sync) {
    commit_requested_ = true;
    work_.notify_one();
  }
  while (durable_seq_ < seq && failed_errno_ == 0) changed_.wait(mutex_);
  check_failed();
}

std::uint64_t DeviceEngine::put_nowait(std::string_view key, std::string_view value) {
  if (key.empty() || key.size() > kMaxKey) {
    throw std::invalid_argument("metadata key must be 1..1024 bytes");
  }
  std::size_t cls = class_for(kRecordHeader + key.size() + value.size());
  converge::MutexLock lock(mutex_);
  return append(kPut, key, value, cls, false);
}

std::uint64_t DeviceEngine::remove_nowait(std::string_view key) {
  converge::MutexLock lock(mutex_);
  auto it = index_.find(std::string(key));
  if (it == index_.end() || it->second.kind == kTombstone) return 0;
  return append(kTombstone, key, {}, class_for(kRecordHeader + key.size()), false);
}

bool DeviceEngine::contains(std::string_view key) {
  converge::MutexLock lock(mutex_);
  auto it = index_.find(std::string(key));
  return it != index_.end() && it->second.kind == kPut;
}

bool DeviceEngine::get(std::string_view key, std::string& value) {
  std::string block;
  while (true) {
    Location loc;
    std::uint32_t generation, block_size;
    std::uint64_t offset;
    {
      converge::MutexLock lock(mutex_);
      auto it = index_.find(std::string(key));
      if (it == index_.end() || it->second.kind == kTombstone) return false;
      loc = it->second;
      generation = groups_[loc.group].generation;
      block_size = groups_[loc.group].block_size;
      offset = block_offset(loc.group, loc.block);
      const SizeClass& c = classes_[class_of_block_size(block_size)];
      for (const Buffer* b : {&c.active, &c.flushing}) {
        if (b->covers(loc.group, loc.block)) {
          block.assign(b->data, std::size_t{loc.block - b->first_block} * block_size, block_size);
          break;
        }
      }
    }
    if (block.empty()) {
      block.resize(block_size);
      pread_all(fd_, block.data(), block.size(), offset);
    }
    Record rec;
    Parse p = parse_record(block, generation, rec);
    if (p == Parse::ok && rec.seq == loc.seq && rec.key == key) {
      value.assign(rec.value);
      return true;
    }
    {
      // The group may have been compacted and reused since the lookup: retry.
      converge::MutexLock lock(mutex_);
      auto it = index_.find(std::string(key));
      bool moved = it == index_.end() || it->second.seq != loc.seq ||
                   groups_[loc.group].generation != generation;
      if (!moved) {
        throw CorruptRecord(fmt::format(
            "metadata record for key of {} bytes in group {} block {} fails its checksum",
            key.size(), loc.group, loc.block));
      }
    }
    block.clear();
  }
}

void DeviceEngine::for_each_key(const std::function<void(std::string_view)>& fn) {
  std::vector<std::string> keys;
  {
    converge::MutexLock lock(mutex_);
    keys.reserve(index_.size());
    for (const auto& [k, loc] : index_) {
      if (loc.kind == kPut) keys.push_back(k);
    }
  }
  for (const auto& k : keys) fn(k);
}

EngineStats DeviceEngine::stats() {
  converge::MutexLock lock(mutex_);
  EngineStats s = stats_;
  s.live_keys = 0;
  for (const auto& [k, loc] : index_) s.live_keys += loc.kind == kPut;
  s.groups_total = group_count_;
  s.groups_free = free_group_count();
  return s;
}

// Writes every buffered record and makes it durable with one fdatasync.
void DeviceEngine::commit_round() {
  commit_requested_ = false;
  std::uint64_t durable_after = next_seq_ - 1;
  // The classes whose flushing buffer this round writes. While the lock is
  // dropped, a writer may fill the buffer (or group) of another class and
  // move it to that class's empty flushing slot: that buffer is the next
  // round's, and only the ones written here may be released below.
  std::vector<SizeClass*> written;
  for (auto& c : classes_) {
    if (c.flushing.empty() && !c.active.empty()) {
      c.flushing = std::move(c.active);
      c.active = Buffer{};
    }
    if (!c.active.empty()) durable_after = std::min(durable_after, c.active.min_seq - 1);
    if (!c.flushing.empty()) written.push_back(&c);
  }
  // Nobody replaces a non-empty flushing buffer (writers wait for it), so
  // these views stay valid while the lock is dropped.
  std::vector<std::pair<std::string_view, std::uint64_t>> io;
  for (const SizeClass* c : written) {
    const Buffer& b = c->flushing;
    io.emplace_back(std::string_view(b.data).substr(0, std::size_t{b.blocks} * c->block_size),
                    block_offset(b.group, b.first_block));
  }
  mutex_.unlock();
  int err = 0;
  try {
    for (auto& [data, offset] : io) pwrite_all(fd_, data, offset);
    if (::fdatasync(fd_) != 0) throw_errno("fdatasync");
  } catch (const std::system_error& e) {
    err = e.code().value();
    log::error("metadata device {}: {}", options_.device_path, e.what());
  }
  mutex_.lock();
  if (err) {
    failed_errno_ = err;
  } else {
    durable_seq_ = std::max(durable_seq_, durable_after);
    ++stats_.commits;
  }
  for (SizeClass* c : written) c->flushing = Buffer{};
  // A buffer that became due meanwhile is written by the next round now.
  for (const auto& c : classes_) commit_requested_ |= !c.flushing.empty();
  changed_.notify_all();
  release_freed_groups();
}

// Frees groups whose records were all superseded by now-durable records.
void DeviceEngine::release_freed_groups() {
  std::vector<std::uint32_t> freed;
  // A loop, not erase_if: the analysis cannot see that a lambda runs locked.
  std::vector<PendingFree> pending;
  for (const PendingFree& p : pending_frees_) {
    if (p.after_seq > durable_seq_ + 1) {
      pending.push_back(p);
      continue;
    }
    Group& g = groups_[p.group];
    bool in_use = false;
    for (const auto& c : classes_) {
      in_use |=
          c.active_group == p.group || c.active.group == p.group || c.flushing.group == p.group;
    }
    if (g.live != 0 || in_use) {
      g.freeing = g.live == 0;  // an active group is retried on a later round
      if (g.freeing) pending.push_back(p);
      continue;
    }
    freed.push_back(p.group);
  }
  pending_frees_ = std::move(pending);
  if (freed.empty()) return;
  for (auto g : freed) {
    groups_[g].block_size = 0;
    write_group_header(g);
  }
  mutex_.unlock();
  int rc = ::fdatasync(fd_);
  int sync_errno = errno;
  mutex_.lock();
  if (rc != 0) failed_errno_ = sync_errno;
  for (auto g : freed) groups_[g].freeing = false;
  changed_.notify_all();
}

// Moves the live records of the emptiest group (if at most `max_live_ratio`
// of it is live) elsewhere and frees it. Every call that returns true has
// reclaimed dead records, so repeated calls end.
bool DeviceEngine::compact_one(double max_live_ratio) {
  std::uint32_t victim = kNone;
  double best = max_live_ratio;
  for (std::uint32_t g = 0; g < group_count_; ++g) {
    const Group& group = groups_[g];
    if (group.block_size == 0 || group.freeing) continue;
    bool active = false;
    for (const auto& c : classes_) active |= c.active_group == g;
    if (active) continue;
    double ratio = static_cast<double>(group.live) / capacity(g);
    if (group.next_block > group.live && ratio <= best) {
      best = ratio;
      victim = g;
    }
  }
  if (victim == kNone) return false;
  const std::uint32_t block_size = groups_[victim].block_size;
  const std::uint32_t generation = groups_[victim].generation;
  std::string data(std::size_t{groups_[victim].next_block} * block_size, '\0');
  pread_all(fd_, data.data(), data.size(), block_offset(victim, 0));
  const std::size_t cls = class_of_block_size(block_size);
  for (std::uint32_t b = 0; b < groups_[victim].next_block; ++b) {
    Record rec;
    if (parse_record(std::string_view(data).substr(std::size_t{b} * block_size, block_size),
                     generation, rec) != Parse::ok) {
      continue;
    }
    auto it = index_.find(std::string(rec.key));
    if (it == index_.end() || it->second.group != victim || it->second.block != b)
      continue;  // dead
    if (rec.kind == kTombstone) {
      // A tombstone is needed only while an older record of its key may exist.
      bool older_may_exist = false;
      for (std::uint32_t g = 0; g < group_count_; ++g) {
        older_may_exist |=
            g != victim && groups_[g].block_size != 0 && groups_[g].first_seq < rec.seq;
      }
      if (!older_may_exist) {
        index_.erase(it);
        retire(Location{victim, b, rec.seq, kTombstone});
        continue;
      }
    }
    std::string key(rec.key), value(rec.value);
    append(rec.kind, key, value, cls, true);
  }
  ++stats_.compactions;
  commit_round();
  return groups_[victim].block_size == 0;
}

void DeviceEngine::compact() {
  converge::MutexLock lock(mutex_);
  do {
    std::uint64_t round = compaction_rounds_;
    compaction_requested_ = true;
    full_compaction_ = true;
    work_.notify_one();
    while (compaction_rounds_ <= round && failed_errno_ == 0) changed_.wait(mutex_);
    check_failed();
  } while (compaction_progress_);
}

// The one thread that writes buffers, syncs, frees and compacts, so those
// never race with each other.
void DeviceEngine::flusher_loop() {
  converge::MutexLock lock(mutex_);
  while (true) {
    const auto deadline = std::chrono::steady_clock::now() + options_.commit_window;
    while (!stopping_ && !commit_requested_ && !compaction_requested_) {
      if (!work_.wait_until(mutex_, deadline)) break;
    }
    // A request is served by this pass, dirty or not: clearing it here keeps
    // the loop from spinning on a request that needs nothing.
    commit_requested_ = false;
    if (failed_errno_ == 0) {
      bool dirty = durable_seq_ + 1 < next_seq_;
      for (const auto& c : classes_) dirty |= !c.flushing.empty();
      if (dirty) {
        commit_round();
      } else if (!pending_frees_.empty()) {
        release_freed_groups();
      }
      if (compaction_requested_) {
        compaction_requested_ = false;
        // An explicit compact() reclaims groups at most half live; a writer
        // out of space takes any group with a dead record.
        double max_live = full_compaction_ ? 0.5 : 1.0;
        full_compaction_ = false;
        try {
          compaction_progress_ = compact_one(max_live);
        } catch (const NoSpace&) {
          compaction_progress_ = false;
        }
        ++compaction_rounds_;
        changed_.notify_all();
      }
    } else if (compaction_requested_) {
      compaction_requested_ = false;
      ++compaction_rounds_;
      changed_.notify_all();
    }
    if (stopping_ && (durable_seq_ + 1 >= next_seq_ || failed_errno_ != 0)) break;
  }
}

}  // namespace

EngineOptions EngineOptions::from(const Settings& settings, std::string device_path) {
  EngineOptions options;
  options.device_path = std::move(device_path);
  options.device_bytes = settings.device_bytes;
  options.durability = settings.durability;
  options.commit_window = settings.commit_window;
  return options;
}

std::unique_ptr<MetadataEngine> MetadataEngine::open(const EngineOptions& options) {
  if (options.block_sizes.empty()) throw std::invalid_argument("no block sizes");
  auto engine = std::make_unique<DeviceEngine>(options);
  engine->start();
  return engine;
}

}  // namespace kapok
