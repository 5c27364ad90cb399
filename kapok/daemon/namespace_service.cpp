// SPDX-License-Identifier: GPL-2.0-or-later
#include "kapok/daemon/namespace_service.h"

#include "kapok/daemon/namespace_keys.h"

#include "converge/log.h"

#include <unistd.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>

namespace kapok {
namespace {

using converge::rpc::Error;
using converge::wire::Reader;
using converge::wire::Writer;
namespace log = converge::log;

void check_name(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    throw Error(EINVAL, fmt::format("invalid file name \"{}\"", name));
  }
  if (name.size() > 255) throw Error(ENAMETOOLONG, "file name longer than 255 bytes");
}

}  // namespace

NamespaceService::NamespaceService(std::unique_ptr<MetadataEngine> engine, NamespaceOptions options)
    : engine_(std::move(engine)),
      options_(std::move(options)),
      placement_(static_cast<std::uint32_t>(std::max<std::size_t>(1, options_.mds.size()))) {
  peers_.resize(options_.mds.size());
  rebuild_directory_index();
  if (options_.mds_index == mds_of_ino(kRootIno) && !engine_->contains(inode_key(kRootIno))) {
    Attr root;
    root.ino = kRootIno;
    root.mode = S_IFDIR | 0755;
    // The file system's root belongs to whoever runs its servers: in a job,
    // the job's user (converge-launch starts them as that user).
    root.uid = geteuid();
    root.gid = getegid();
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
      if (is_local(ino))
        max_counter = std::max<std::uint64_t>(max_counter, ino & ((std::uint64_t{1} << 48) - 1));
    } else if (key[0] == 'd') {
      std::string value;
      if (!engine_->get(key, value)) return;
      Reader r(value);
      Dentry d{r.u64(), r.u32()};
      directories_[ino_of_key(key)][std::string(key.substr(9))] = d;
      ++entries;
    } else if (key[0] == 's') {
      split_.insert(ino_of_key(key));
    }
  });
  next_counter_ = max_counter + 1;
  log::info("metadata server {}: {} directory entries in {} directories, {} split",
            options_.mds_index, entries, directories_.size(), split_.size());
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
  using converge::rpc::Access;
  using converge::rpc::MethodOptions;
  auto bind = [&](Method m, void (NamespaceService::*fn)(Reader&, Writer&),
                  MethodOptions options = {}) {
    server.handle(
        m, [this, fn](Reader& in, Writer& out) { (this->*fn)(in, out); }, options);
  };
  // Between the instance's own servers only (they prove the job's secret).
  // The cross-server steps of rename, link and rmdir (kPutEntry, kAdjustLink,
  // kFreezeDir, ...) are the client's: every connection is the job owner's
  // or root's, and a client is trusted as a Lustre client is.
  const MethodOptions internal{Access::kMember, converge::rpc::kMaxFrame};
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
  bind(kPutEntry, &NamespaceService::put_entry);
  bind(kRemoveEntry, &NamespaceService::remove_entry);
  bind(kAdjustLink, &NamespaceService::adjust_link);
  bind(kFreezeDir, &NamespaceService::freeze_dir);
  bind(kForgetDir, &NamespaceService::forget_dir);
  bind(kAdoptEntries, &NamespaceService::adopt_entries, internal);
  bind(kDirInfo, &NamespaceService::dir_info);
  bind(kStatfs, &NamespaceService::statfs);
  bind(kMdsStatus, &NamespaceService::status);
}

// Linux's rules (chown(2), chmod(2)): only root gives a file away or
// changes another user's file; the owner may change its mode and set its
// group to the owner's own group.
void NamespaceService::check_setattr(const Attr& attr, std::uint32_t mask, std::uint32_t mode,
                                     std::uint32_t uid, std::uint32_t gid) {
  const auto& caller = converge::rpc::caller();
  if (caller.uid == 0) return;
  if ((mask & kSetUid) && uid != attr.uid)
    throw Error(EPERM, "only root may change a file's owner");
  bool changes_owner_fields = (mask & (kSetMode | kSetGid)) != 0;
  if (changes_owner_fields && caller.uid != attr.uid) throw Error(EPERM, "not the file's owner");
  if ((mask & kSetGid) && gid != attr.gid && gid != caller.gid)
    throw Error(EPERM, "not a member of that group");
  if ((mask & kSetMode) && (mode & S_ISGID) && attr.gid != caller.gid && !attr.is_dir())
    throw Error(EPERM, "setgid on a file of another group");
  bool times_or_size = (mask & (kSetAtime | kSetMtime | kSetSize)) != 0;
  if (times_or_size && caller.uid != attr.uid) {
    std::uint32_t write_bit = caller.gid == attr.gid ? S_IWGRP : S_IWOTH;
    if ((attr.mode & write_bit) == 0) throw Error(EACCES, "no write permission");
  }
}

// A write by anyone but root clears setuid, and setgid where the group may
// execute (as Linux does), so a program cannot be changed under its bits.
void NamespaceService::drop_privilege_bits(Attr& attr) {
  if (converge::rpc::caller().uid == 0) return;
  attr.mode &= ~static_cast<std::uint32_t>(S_ISUID);
  if (attr.mode & S_IXGRP) attr.mode &= ~static_cast<std::uint32_t>(S_ISGID);
}

void NamespaceService::check_entry(std::uint64_t dir, std::string_view name, bool change) {
  bool split = split_.contains(dir);
  if (placement_.server_of(dir, name, split) != options_.mds_index) {
    throw Error(EREMCHG, split ? "directory is split: the entry lives on another server"
                               : "directory lives on another server");
  }
  if (!change) return;
  if (removed_.contains(dir)) throw Error(ENOENT, "directory was removed");
  if (frozen(dir)) throw Error(EAGAIN, "directory is being removed");
  if (splitting_.contains(dir) && placement_.server_of(dir, name, true) != options_.mds_index)
    throw Error(EAGAIN, "directory is being split");
}

bool NamespaceService::frozen(std::uint64_t dir) {
  auto f = frozen_.find(dir);
  if (f == frozen_.end()) return false;
  if (f->second > std::chrono::steady_clock::now()) return true;
  frozen_.erase(f);  // the remover went away: its lease ran out
  return false;
}

Entry NamespaceService::describe(const Dentry& d) {
  Entry e;
  e.ino = d.ino;
  if (is_local(d.ino)) {
    e.kind = Entry::kLocal;
    e.attr = load(d.ino);
  } else {
    e.kind = Entry::kRemote;
  }
  return e;
}

Entry NamespaceService::release(const Dentry& d, std::uint64_t& seq) {
  Entry e;
  e.ino = d.ino;
  if (!is_local(d.ino)) {
    e.kind = Entry::kRemote;
    return e;
  }
  e.kind = Entry::kLocal;
  std::string data;
  try {
    e.attr = load(d.ino, &data);
  } catch (const Error& err) {
    if (err.code() != ENOENT) throw;
    // A crash between an entry and its inode left the entry dangling.
    log::warning("entry named missing inode {}", d.ino);
    e.attr.ino = d.ino;
    e.attr.nlink = 0;
    e.attr.mode = d.mode;
    return e;
  }
  seq = std::max(seq, drop_link(e.attr, data));
  return e;
}

void NamespaceService::lookup(Reader& in, Writer& out) {
  std::uint64_t dir = in.u64();
  std::string name = in.string();
  Dentry d;
  {
    std::lock_guard lock(mutex_);
    check_entry(dir, name, false);
    auto dit = directories_.find(dir);
    if (dit == directories_.end()) throw Error(ENOENT, "no such entry");
    auto e = dit->second.find(name);
    if (e == dit->second.end()) throw Error(ENOENT, "no such entry");
    d = e->second;
  }
  describe(d).encode(out);
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
  // Who creates is who the connection proved to be; only root names another.
  if (const auto& caller = converge::rpc::caller(); caller.uid != 0) {
    uid = caller.uid;
    gid = caller.gid;
  }
  std::string target = in.string();
  check_name(name);
  if (!S_ISREG(mode) && !S_ISDIR(mode) && !S_ISLNK(mode))
    throw Error(EINVAL, "unsupported file type");
  Attr attr;
  std::uint64_t seq;
  bool may_split;
  {
    std::lock_guard lock(mutex_);
    check_entry(dir, name, true);
    auto& entries = directories_[dir];
    if (auto e = entries.find(name); e != entries.end()) {
      if (exclusive || !S_ISREG(mode) || !S_ISREG(e->second.mode))
        throw Error(EEXIST, "file exists");
      if (is_local(e->second.ino)) {
        attr = load(e->second.ino);  // open(O_CREAT) of an existing file
      } else {
        throw Error(EEXIST, "file exists (inode on another server)");
      }
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
    may_split = entries.size() > options_.settings.split_threshold && !split_.contains(dir) &&
                !splitting_.contains(dir) && placement_.mds_count() > 1;
  }
  engine_->wait_durable(seq);
  if (may_split) maybe_split(dir);
  attr.encode(out);
}

void NamespaceService::unlink(Reader& in, Writer& out) {
  std::uint64_t dir = in.u64();
  std::string name = in.string();
  bool want_dir = in.boolean();
  Entry gone;
  std::uint64_t seq;
  {
    std::lock_guard lock(mutex_);
    check_entry(dir, name, true);
    auto d = directories_.find(dir);
    if (d == directories_.end() || !d->second.contains(name)) throw Error(ENOENT, "no such entry");
    Dentry entry = d->second.at(name);
    if (want_dir && !S_ISDIR(entry.mode)) throw Error(ENOTDIR, "not a directory");
    if (!want_dir && S_ISDIR(entry.mode)) throw Error(EISDIR, "is a directory");
    // A directory's emptiness was checked by the caller with kFreezeDir on
    // the servers that hold its entries.
    seq = engine_->remove_nowait(dentry_key(dir, name));
    d->second.erase(name);
    gone = release(entry, seq);
  }
  engine_->wait_durable(seq);
  gone.encode(out);  // local and nlink 0: the caller removes the file's chunks
}

std::uint64_t NamespaceService::drop_link(Attr& attr, const std::string& data) {
  // A directory counts one link too many while a rename across servers
  // holds it under two names.
  std::uint32_t last = attr.is_dir() ? 2 : 1;
  attr.nlink = attr.nlink <= last ? 0 : attr.nlink - 1;
  if (attr.nlink > 0) {
    attr.ctime_ns = now_ns();
    return store(attr, data);
  }
  return engine_->remove_nowait(inode_key(attr.ino));
}

void NamespaceService::adjust_link(Reader& in, Writer& out) {
  std::uint64_t ino = in.u64();
  bool add = in.boolean();
  Attr attr;
  std::uint64_t seq;
  {
    std::lock_guard lock(mutex_);
    std::string data;
    attr = load(ino, &data);
    if (add) {
      ++attr.nlink;
      attr.ctime_ns = now_ns();
      seq = store(attr, data);
    } else {
      seq = drop_link(attr, data);
    }
  }
  engine_->wait_durable(seq);
  attr.encode(out);
}

void NamespaceService::readdir(Reader& in, Writer& out) {
  std::uint64_t dir = in.u64();
  std::string after = in.string();
  constexpr std::size_t kPage = 4096;
  std::lock_guard lock(mutex_);
  bool split = split_.contains(dir);
  if (!split && placement_.home(dir) != options_.mds_index)
    throw Error(EREMCHG, "directory lives on another server");
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
  out.boolean(split);
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
    check_setattr(attr, mask, mode, uid, gid);
    if (mask & kSetMode) attr.mode = (attr.mode & S_IFMT) | (mode & 07777);
    if ((mask & kSetUid) && uid != attr.uid)
      attr.mode &= ~static_cast<std::uint32_t>(S_ISUID | S_ISGID);
    if ((mask & kSetGid) && gid != attr.gid && !attr.is_dir())
      attr.mode &= ~static_cast<std::uint32_t>(S_ISUID | S_ISGID);
    if (mask & kSetUid) attr.uid = uid;
    if (mask & kSetGid) attr.gid = gid;
    if (mask & kSetAtime) attr.atime_ns = atime;
    if (mask & kSetMtime) attr.mtime_ns = mtime;
    if (mask & kSetSize) {
      if (attr.is_dir()) throw Error(EISDIR, "is a directory");
      if (attr.inline_data) {
        if (size > options_.settings.inline_threshold)
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
    if (offset + bytes.size() > options_.settings.inline_threshold)
      throw Error(EFBIG, "past the inline threshold");
    if (data.size() < offset + bytes.size()) data.resize(offset + bytes.size(), '\0');
    data.replace(offset, bytes.size(), bytes);
    drop_privilege_bits(attr);
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
      attr.layout = StripeLayout::for_file(ino, options_.ds_count, options_.settings.stripe_count,
                                           options_.settings.stripe_size);
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
    std::uint32_t mode_before = attr.mode;
    drop_privilege_bits(attr);
    if (end > attr.size || mtime > attr.mtime_ns || attr.mode != mode_before) {
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
  std::uint64_t expected = in.u64();
  check_name(new_name);
  std::uint64_t seq = 0;
  Entry replaced;
  {
    std::lock_guard lock(mutex_);
    check_entry(dir, name, true);
    check_entry(new_dir, new_name, true);
    auto d = directories_.find(dir);
    if (d == directories_.end() || !d->second.contains(name)) throw Error(ENOENT, "no such entry");
    Dentry moving = d->second.at(name);
    auto& target_dir = directories_[new_dir];
    auto t = target_dir.find(new_name);
    std::uint64_t target_ino = t == target_dir.end() ? 0 : t->second.ino;
    if (target_ino == moving.ino) {  // the same file: nothing to do
      Entry same;
      same.kind = Entry::kSameFile;
      same.encode(out);
      return;
    }
    // The caller checked the target (and froze it when it is a directory).
    if (target_ino != expected) throw Error(EBUSY, "rename target changed; retry");
    Dentry old_target{};
    if (t != target_dir.end()) {
      old_target = t->second;
      if (S_ISDIR(old_target.mode) && !S_ISDIR(moving.mode))
        throw Error(EISDIR, "target is a directory");
      if (!S_ISDIR(old_target.mode) && S_ISDIR(moving.mode))
        throw Error(ENOTDIR, "target is not a directory");
    }
    // The new entry is written before the old one is removed: a crash leaves
    // the file reachable under its new name (and possibly its old one).
    seq = store_dentry(new_dir, new_name, moving);
    seq = std::max(seq, engine_->remove_nowait(dentry_key(dir, name)));
    target_dir[new_name] = moving;
    directories_[dir].erase(name);
    if (old_target.ino) replaced = release(old_target, seq);
  }
  engine_->wait_durable(seq);
  replaced.encode(out);  // local and nlink 0: the caller removes its chunks
}

void NamespaceService::put_entry(Reader& in, Writer& out) {
  std::uint64_t dir = in.u64();
  std::string name = in.string();
  Dentry d{in.u64(), in.u32()};
  std::uint64_t expected = in.u64();
  check_name(name);
  std::uint64_t seq = 0;
  Entry replaced;
  {
    std::lock_guard lock(mutex_);
    check_entry(dir, name, true);
    auto& entries = directories_[dir];
    auto t = entries.find(name);
    std::uint64_t target_ino = t == entries.end() ? 0 : t->second.ino;
    if (target_ino == d.ino) {
      Entry same;
      same.kind = Entry::kSameFile;
      same.encode(out);
      return;
    }
    if (target_ino != expected) {
      if (expected == 0) throw Error(EEXIST, "file exists");
      throw Error(EBUSY, "target changed; retry");
    }
    Dentry old_target{};
    if (t != entries.end()) {
      old_target = t->second;
      if (S_ISDIR(old_target.mode) && !S_ISDIR(d.mode))
        throw Error(EISDIR, "target is a directory");
      if (!S_ISDIR(old_target.mode) && S_ISDIR(d.mode))
        throw Error(ENOTDIR, "target is not a directory");
    }
    seq = store_dentry(dir, name, d);
    entries[name] = d;
    if (old_target.ino) replaced = release(old_target, seq);
  }
  engine_->wait_durable(seq);
  replaced.encode(out);
}

void NamespaceService::remove_entry(Reader& in, Writer&) {
  std::uint64_t dir = in.u64();
  std::string name = in.string();
  std::uint64_t ino = in.u64();
  std::uint64_t seq;
  {
    std::lock_guard lock(mutex_);
    check_entry(dir, name, true);
    auto d = directories_.find(dir);
    if (d == directories_.end()) throw Error(ENOENT, "no such entry");
    auto e = d->second.find(name);
    if (e == d->second.end() || e->second.ino != ino) throw Error(ENOENT, "no such entry");
    seq = engine_->remove_nowait(dentry_key(dir, name));
    d->second.erase(e);
  }
  engine_->wait_durable(seq);
}

void NamespaceService::link(Reader& in, Writer& out) {
  std::uint64_t ino = in.u64(), dir = in.u64();
  std::string name = in.string();
  check_name(name);
  Attr attr;
  std::uint64_t seq;
  {
    std::lock_guard lock(mutex_);
    check_entry(dir, name, true);
    if (!is_local(ino)) throw Error(EXDEV, "the inode lives on another server");
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
  std::size_t split = 0;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [dir, names] : directories_) entries += names.size();
    split = split_.size();
  }
  nlohmann::json j{{"role", "mds"},
                   {"index", options_.mds_index},
                   {"keys", s.live_keys},
                   {"directory_entries", entries},
                   {"split_directories", split},
                   {"groups_total", s.groups_total},
                   {"groups_free", s.groups_free},
                   {"commits", s.commits},
                   {"compactions", s.compactions},
                   {"corrupt_records", s.corrupt_records}};
  out.bytes(j.dump());
}

}  // namespace kapok
