// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/namespace_service.h"

#include "converge/log.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>

namespace kapok {
namespace {

using converge::rpc::Error;
using converge::wire::Reader;
using converge::wire::Writer;
namespace log = converge::log;

std::string inode_key(std::uint64_t ino) {
  Writer w;
  w.u8('i');
  for (int i = 7; i >= 0; --i) w.u8(static_cast<std::uint8_t>(ino >> (8 * i)));
  return w.take();
}

std::string dentry_key(std::uint64_t dir, std::string_view name) {
  std::string key = inode_key(dir);
  key[0] = 'd';
  key.append(name);
  return key;
}

std::uint64_t ino_of_key(std::string_view key) {
  std::uint64_t ino = 0;
  for (int i = 1; i <= 8; ++i) ino = (ino << 8) | static_cast<unsigned char>(key[i]);
  return ino;
}

void check_name(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    throw Error(EINVAL, fmt::format("invalid file name \"{}\"", name));
  }
  if (name.size() > 255) throw Error(ENAMETOOLONG, "file name longer than 255 bytes");
}

}  // namespace

NamespaceService::NamespaceService(std::unique_ptr<MetadataEngine> engine, NamespaceOptions options)
    : engine_(std::move(engine)), options_(options) {
  rebuild_directory_index();
  if (options_.mds_index == mds_of_ino(kRootIno) && !engine_->contains(inode_key(kRootIno))) {
    Attr root;
    root.ino = kRootIno;
    root.mode = S_IFDIR | 0755;
    root.nlink = 2;
    root.atime_ns = root.mtime_ns = root.ctime_ns = now_ns();
    engine_->put(inode_key(kRootIno), [&] {
      Writer w;
      root.encode(w);
      return w.take();
    }());
    log::info("created the root directory");
  }
}

void NamespaceService::rebuild_directory_index() {
  std::uint64_t max_counter = 1;
  std::uint64_t entries = 0;
  engine_->for_each_key([&](std::string_view key) {
    if (key.size() < 9) return;
    if (key[0] == 'i') {
      std::uint64_t ino = ino_of_key(key);
      if (mds_of_ino(ino) == options_.mds_index)
        max_counter = std::max<std::uint64_t>(max_counter, ino & ((std::uint64_t{1} << 48) - 1));
    } else if (key[0] == 'd') {
      std::string value;
      if (!engine_->get(key, value)) return;
      Reader r(value);
      Dentry d{r.u64(), r.u32()};
      directories_[ino_of_key(key)][std::string(key.substr(9))] = d;
      ++entries;
    }
  });
  next_counter_ = max_counter + 1;
  log::info("metadata server {}: {} directory entries in {} directories", options_.mds_index,
            entries, directories_.size());
}

Attr NamespaceService::load(std::uint64_t ino, std::string* data) {
  std::string value;
  try {
    if (!engine_->get(inode_key(ino), value)) throw Error(ENOENT, fmt::format("no inode {}", ino));
  } catch (const CorruptRecord& e) {
    throw Error(EIO, e.what());
  }
  Reader r(value);
  Attr attr = Attr::decode(r);
  if (data) data->assign(r.bytes());
  return attr;
}

std::uint64_t NamespaceService::store(const Attr& attr, std::string_view data) {
  Writer w;
  attr.encode(w);
  w.bytes(data);
  try {
    return engine_->put_nowait(inode_key(attr.ino), w.data());
  } catch (const NoSpace& e) {
    throw Error(ENOSPC, e.what());
  }
}

std::uint64_t NamespaceService::store_dentry(std::uint64_t dir, const std::string& name,
                                             const Dentry& d) {
  Writer w;
  w.u64(d.ino);
  w.u32(d.mode);
  try {
    return engine_->put_nowait(dentry_key(dir, name), w.data());
  } catch (const NoSpace& e) {
    throw Error(ENOSPC, e.what());
  }
}

void NamespaceService::register_methods(converge::rpc::Server& server) {
  auto bind = [&](Method m, void (NamespaceService::*fn)(Reader&, Writer&)) {
    server.handle(m, [this, fn](Reader& in, Writer& out) { (this->*fn)(in, out); });
  };
  bind(kLookup, &NamespaceService::lookup);
  bind(kGetattr, &NamespaceService::getattr);
  bind(kCreate, &NamespaceService::create);
  bind(kUnlink, &NamespaceService::unlink);
  bind(kReaddir, &NamespaceService::readdir);
  bind(kSetattr, &NamespaceService::setattr);
  bind(kReadInline, &NamespaceService::read_inline);
  bind(kWriteInline, &NamespaceService::write_inline);
  bind(kMakeStriped, &NamespaceService::make_striped);
  bind(kExtend, &NamespaceService::extend);
  bind(kRename, &NamespaceService::rename);
  bind(kLink, &NamespaceService::link);
  bind(kStatfs, &NamespaceService::statfs);
  bind(kMdsStatus, &NamespaceService::status);
}

void NamespaceService::lookup(Reader& in, Writer& out) {
  std::uint64_t dir = in.u64();
  std::string name = in.string();
  std::uint64_t ino;
  {
    std::lock_guard lock(mutex_);
    auto d = directories_.find(dir);
    if (d == directories_.end()) throw Error(ENOENT, "no such entry");
    auto e = d->second.find(name);
    if (e == d->second.end()) throw Error(ENOENT, "no such entry");
    ino = e->second.ino;
  }
  load(ino).encode(out);
}

void NamespaceService::getattr(Reader& in, Writer& out) {
  load(in.u64()).encode(out);
}

void NamespaceService::create(Reader& in, Writer& out) {
  std::uint64_t dir = in.u64();
  std::string name = in.string();
  std::uint32_t mode = in.u32();
  std::uint32_t uid = in.u32(), gid = in.u32();
  bool exclusive = in.boolean();
  std::string target = in.string();
  check_name(name);
  if (!S_ISREG(mode) && !S_ISDIR(mode) && !S_ISLNK(mode))
    throw Error(EINVAL, "unsupported file type");
  Attr attr;
  std::uint64_t seq;
  {
    std::lock_guard lock(mutex_);
    auto& entries = directories_[dir];
    if (auto e = entries.find(name); e != entries.end()) {
      if (exclusive || !S_ISREG(mode) || !S_ISREG(e->second.mode))
        throw Error(EEXIST, "file exists");
      attr = load(e->second.ino);  // open(O_CREAT) of an existing file
      attr.encode(out);
      return;
    }
    attr.ino = make_ino(options_.mds_index, next_counter_++);
    attr.mode = mode;
    attr.uid = uid;
    attr.gid = gid;
    attr.nlink = S_ISDIR(mode) ? 2 : 1;
    attr.atime_ns = attr.mtime_ns = attr.ctime_ns = now_ns();
    attr.symlink = target;
    attr.size = S_ISLNK(mode) ? target.size() : 0;
    // The inode first: a crash in between leaves an unreferenced inode, never a dangling entry.
    store(attr, {});
    seq = store_dentry(dir, name, {attr.ino, mode});
    entries[name] = {attr.ino, mode};
  }
  engine_->wait_durable(seq);
  attr.encode(out);
}

void NamespaceService::unlink(Reader& in, Writer& out) {
  std::uint64_t dir = in.u64();
  std::string name = in.string();
  bool want_dir = in.boolean();
  Attr attr;
  std::uint64_t seq;
  {
    std::lock_guard lock(mutex_);
    auto d = directories_.find(dir);
    if (d == directories_.end() || !d->second.contains(name)) throw Error(ENOENT, "no such entry");
    Dentry entry = d->second.at(name);
    if (want_dir && !S_ISDIR(entry.mode)) throw Error(ENOTDIR, "not a directory");
    if (!want_dir && S_ISDIR(entry.mode)) throw Error(EISDIR, "is a directory");
    if (want_dir) {
      // Its entries live on the metadata server of its own hash; the client
      // checked it is empty there, and this server checks its own share.
      auto sub = directories_.find(entry.ino);
      if (sub != directories_.end() && !sub->second.empty())
        throw Error(ENOTEMPTY, "directory not empty");
    }
    std::string data;
    attr = load(entry.ino, &data);
    seq = engine_->remove_nowait(dentry_key(dir, name));
    d->second.erase(name);
    seq = std::max(seq, drop_link(attr, data));
  }
  engine_->wait_durable(seq);
  attr.encode(out);  // nlink 0: the caller removes the file's chunks
}

std::uint64_t NamespaceService::drop_link(Attr& attr, const std::string& data) {
  attr.nlink = attr.is_dir() || attr.nlink <= 1 ? 0 : attr.nlink - 1;
  if (attr.nlink > 0) {
    attr.ctime_ns = now_ns();
    return store(attr, data);
  }
  directories_.erase(attr.ino);
  return engine_->remove_nowait(inode_key(attr.ino));
}

void NamespaceService::readdir(Reader& in, Writer& out) {
  std::uint64_t dir = in.u64();
  std::string after = in.string();
  constexpr std::size_t kPage = 4096;
  std::lock_guard lock(mutex_);
  auto d = directories_.find(dir);
  std::size_t n = 0;
  Writer entries;
  bool more = false;
  if (d != directories_.end()) {
    for (auto it = after.empty() ? d->second.begin() : d->second.upper_bound(after);
         it != d->second.end(); ++it) {
      if (n == kPage) {
        more = true;
        break;
      }
      entries.bytes(it->first);
      entries.u64(it->second.ino);
      entries.u32(it->second.mode);
      ++n;
    }
  }
  out.u32(static_cast<std::uint32_t>(n));
  out.raw(entries.data());
  out.boolean(more);
}

void NamespaceService::setattr(Reader& in, Writer& out) {
  std::uint64_t ino = in.u64();
  std::uint32_t mask = in.u32();
  std::uint32_t mode = in.u32(), uid = in.u32(), gid = in.u32();
  std::uint64_t size = in.u64();
  std::int64_t atime = in.i64(), mtime = in.i64();
  Attr attr;
  std::uint64_t seq;
  {
    std::lock_guard lock(mutex_);
    std::string data;
    attr = load(ino, &data);
    if (mask & kSetMode) attr.mode = (attr.mode & S_IFMT) | (mode & 07777);
    if (mask & kSetUid) attr.uid = uid;
    if (mask & kSetGid) attr.gid = gid;
    if (mask & kSetAtime) attr.atime_ns = atime;
    if (mask & kSetMtime) attr.mtime_ns = mtime;
    if (mask & kSetSize) {
      if (attr.is_dir()) throw Error(EISDIR, "is a directory");
      if (attr.inline_data) {
        if (size > options_.inline_threshold)
          throw Error(EFBIG, "past the inline threshold: stripe the file first");
        data.resize(size, '\0');
      }
      attr.size = size;
      if (!(mask & kSetMtime)) attr.mtime_ns = now_ns();
    }
    attr.ctime_ns = now_ns();
    seq = store(attr, data);
  }
  engine_->wait_durable(seq);
  attr.encode(out);
}

void NamespaceService::read_inline(Reader& in, Writer& out) {
  std::uint64_t ino = in.u64(), offset = in.u64(), length = in.u64();
  std::string data;
  Attr attr = load(ino, &data);
  if (attr.is_dir()) throw Error(EISDIR, "is a directory");
  if (!attr.inline_data) throw Error(EAGAIN, "file data is on the data servers");
  out.bytes(offset >= data.size() ? std::string_view{}
                                  : std::string_view(data).substr(offset, length));
}

void NamespaceService::write_inline(Reader& in, Writer& out) {
  std::uint64_t ino = in.u64(), offset = in.u64();
  std::string_view bytes = in.bytes();
  Attr attr;
  std::uint64_t seq;
  {
    std::lock_guard lock(mutex_);
    std::string data;
    attr = load(ino, &data);
    if (!attr.is_reg()) throw Error(EINVAL, "not a regular file");
    if (!attr.inline_data) throw Error(EAGAIN, "file data is on the data servers");
    if (offset + bytes.size() > options_.inline_threshold)
      throw Error(EFBIG, "past the inline threshold");
    if (data.size() < offset + bytes.size()) data.resize(offset + bytes.size(), '\0');
    data.replace(offset, bytes.size(), bytes);
    attr.size = std::max<std::uint64_t>(attr.size, data.size());
    attr.mtime_ns = attr.ctime_ns = now_ns();
    seq = store(attr, data);
  }
  engine_->wait_durable(seq);
  attr.encode(out);
}

void NamespaceService::make_striped(Reader& in, Writer& out) {
  std::uint64_t ino = in.u64(), size = in.u64();
  Attr attr;
  std::uint64_t seq;
  {
    std::lock_guard lock(mutex_);
    attr = load(ino);
    if (!attr.is_reg()) throw Error(EINVAL, "not a regular file");
    if (attr.inline_data) {
      attr.inline_data = false;
      attr.layout = StripeLayout::for_file(ino, options_.ds_count, options_.stripe_count,
                                           options_.stripe_size);
      attr.size = std::max(attr.size, size);
      attr.ctime_ns = now_ns();
      seq = store(attr, {});
    } else {
      seq = 0;
    }
  }
  if (seq) engine_->wait_durable(seq);
  attr.encode(out);
}

void NamespaceService::extend(Reader& in, Writer& out) {
  std::uint64_t ino = in.u64(), end = in.u64();
  std::int64_t mtime = in.i64();
  Attr attr;
  std::uint64_t seq = 0;
  {
    std::lock_guard lock(mutex_);
    std::string data;
    attr = load(ino, &data);
    if (attr.inline_data) throw Error(EINVAL, "inline files grow by writing");
    if (end > attr.size || mtime > attr.mtime_ns) {
      attr.size = std::max(attr.size, end);
      attr.mtime_ns = attr.ctime_ns = std::max(attr.mtime_ns, mtime);
      seq = store(attr, data);
    }
  }
  if (seq) engine_->wait_durable(seq);
  attr.encode(out);
}

void NamespaceService::rename(Reader& in, Writer& out) {
  std::uint64_t dir = in.u64();
  std::string name = in.string();
  std::uint64_t new_dir = in.u64();
  std::string new_name = in.string();
  check_name(new_name);
  std::uint64_t seq = 0;
  Attr replaced;
  std::string replaced_data;
  {
    std::lock_guard lock(mutex_);
    auto d = directories_.find(dir);
    if (d == directories_.end() || !d->second.contains(name)) throw Error(ENOENT, "no such entry");
    Dentry moving = d->second.at(name);
    auto& target_dir = directories_[new_dir];
    if (auto t = target_dir.find(new_name); t != target_dir.end()) {
      if (t->second.ino == moving.ino) {  // same file: nothing to do
        out.boolean(false);
        return;
      }
      if (S_ISDIR(t->second.mode) && !S_ISDIR(moving.mode))
        throw Error(EISDIR, "target is a directory");
      if (!S_ISDIR(t->second.mode) && S_ISDIR(moving.mode))
        throw Error(ENOTDIR, "target is not a directory");
      if (S_ISDIR(t->second.mode)) {
        auto sub = directories_.find(t->second.ino);
        if (sub != directories_.end() && !sub->second.empty())
          throw Error(ENOTEMPTY, "target directory not empty");
      }
      replaced = load(t->second.ino, &replaced_data);
    }
    // The new entry is written before the old one is removed: a crash leaves
    // the file reachable under its new name (and possibly its old one).
    seq = store_dentry(new_dir, new_name, moving);
    seq = std::max(seq, engine_->remove_nowait(dentry_key(dir, name)));
    target_dir[new_name] = moving;
    directories_[dir].erase(name);
    if (replaced.ino) seq = std::max(seq, drop_link(replaced, replaced_data));
  }
  engine_->wait_durable(seq);
  // The replaced file, if any: with nlink 0 the caller removes its chunks.
  out.boolean(replaced.ino != 0);
  if (replaced.ino) replaced.encode(out);
}

void NamespaceService::link(Reader& in, Writer& out) {
  std::uint64_t ino = in.u64(), dir = in.u64();
  std::string name = in.string();
  check_name(name);
  Attr attr;
  std::uint64_t seq;
  {
    std::lock_guard lock(mutex_);
    std::string data;
    attr = load(ino, &data);
    if (attr.is_dir()) throw Error(EPERM, "hard links to directories are not allowed");
    auto& entries = directories_[dir];
    if (entries.contains(name)) throw Error(EEXIST, "file exists");
    ++attr.nlink;
    attr.ctime_ns = now_ns();
    store(attr, data);
    seq = store_dentry(dir, name, {ino, attr.mode});
    entries[name] = {ino, attr.mode};
  }
  engine_->wait_durable(seq);
  attr.encode(out);
}

void NamespaceService::statfs(Reader&, Writer& out) {
  auto s = engine_->stats();
  out.u64(s.live_keys);
  out.u64(s.groups_total);
  out.u64(s.groups_free);
}

void NamespaceService::status(Reader&, Writer& out) {
  auto s = engine_->stats();
  std::size_t entries = 0;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [dir, names] : directories_) entries += names.size();
  }
  nlohmann::json j{{"role", "mds"},
                   {"index", options_.mds_index},
                   {"keys", s.live_keys},
                   {"directory_entries", entries},
                   {"groups_total", s.groups_total},
                   {"groups_free", s.groups_free},
                   {"commits", s.commits},
                   {"compactions", s.compactions},
                   {"corrupt_records", s.corrupt_records}};
  out.bytes(j.dump());
}

}  // namespace kapok
