// SPDX-License-Identifier: GPL-2.0-or-later
#include "kapok/client/client.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <thread>

namespace kapok {
namespace {

using converge::wire::Reader;
using converge::wire::Writer;

Writer ino_request(std::uint64_t ino) {
  Writer w;
  w.u64(ino);
  return w;
}

// Runs fn(piece) for every piece, the pieces of each data server in order
// and different servers at the same time.
void on_each_server(const std::vector<ChunkPiece>& pieces,
                    const std::function<void(const ChunkPiece&)>& fn) {
  std::map<std::uint32_t, std::vector<const ChunkPiece*>> by_server;
  for (const auto& p : pieces) by_server[p.server].push_back(&p);
  auto run = [&](const std::vector<const ChunkPiece*>& list) {
    for (const ChunkPiece* p : list) fn(*p);
  };
  if (by_server.size() <= 1) {
    for (const auto& [server, list] : by_server) run(list);
    return;
  }
  std::vector<std::future<void>> others;
  for (auto it = std::next(by_server.begin()); it != by_server.end(); ++it) {
    others.push_back(std::async(std::launch::async, run, std::cref(it->second)));
  }
  std::exception_ptr first;
  try {
    run(by_server.begin()->second);
  } catch (...) {
    first = std::current_exception();
  }
  for (auto& f : others) {
    try {
      f.get();
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}

}  // namespace

Client::Client(Members members, Settings settings)
    : members_(std::move(members)),
      settings_(settings),
      placement_(static_cast<std::uint32_t>(std::max<std::size_t>(1, members_.mds.size()))) {
  for (const auto& e : members_.mds)
    mds_.push_back(std::make_unique<converge::rpc::Client>(e, settings_.rpc_timeout));
  for (const auto& e : members_.ds)
    ds_.push_back(std::make_unique<converge::rpc::Client>(e, settings_.rpc_timeout));
}

converge::rpc::Client& Client::mds(std::uint32_t index) {
  ++calls_;
  if (index >= mds_.size())
    throw Error(ESTALE, fmt::format("inode names metadata server {} of {}", index, mds_.size()));
  return *mds_[index];
}

converge::rpc::Client& Client::ds(std::uint32_t index) {
  ++calls_;
  if (index >= ds_.size())
    throw Error(ESTALE, fmt::format("stripe names data server {} of {}", index, ds_.size()));
  return *ds_[index];
}

std::string Client::call_mds(std::uint32_t index, Method m, const Writer& w) {
  return mds(index).call(m, w.data());
}

Attr Client::attr_call(std::uint32_t index, Method m, const Writer& w) {
  std::string reply = call_mds(index, m, w);
  Reader r(reply);
  return Attr::decode(r);
}

bool Client::known_split(std::uint64_t dir) {
  std::lock_guard lock(split_mutex_);
  return split_dirs_.contains(dir);
}

void Client::learn_split(std::uint64_t dir, bool split) {
  std::lock_guard lock(split_mutex_);
  if (split)
    split_dirs_.insert(dir);
  else
    split_dirs_.erase(dir);
}

std::uint32_t Client::entry_server(std::uint64_t dir, const std::string& name) {
  return placement_.server_of(dir, name, known_split(dir));
}

template <class Call>
auto Client::at_entry(std::uint64_t dir, const std::string& name, Call&& call) {
  auto deadline = std::chrono::steady_clock::now() + settings_.rpc_timeout;
  auto pause = std::chrono::milliseconds(1);
  int redirects = 0;
  while (true) {
    std::uint32_t server = entry_server(dir, name);
    try {
      return call(server);
    } catch (const Error& e) {
      if (e.code() == EREMCHG && ++redirects <= 4) {
        // The home says the directory is split; any other server that it is not.
        learn_split(dir, server == placement_.home(dir));
        continue;
      }
      if ((e.code() == EAGAIN || e.code() == EBUSY) &&
          std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(pause);  // a split or removal in progress: back off
        pause = std::min(pause * 2, std::chrono::milliseconds(50));
        continue;
      }
      throw;
    }
  }
}

Attr Client::attr_of(const Entry& e) {
  return e.kind == Entry::kLocal ? e.attr : getattr(e.ino);
}

Attr Client::adjust_link(std::uint64_t ino, bool add) {
  Writer w;
  w.u64(ino);
  w.boolean(add);
  return attr_call(mds_of_ino(ino), kAdjustLink, w);
}

void Client::release(const Entry& gone) {
  if (gone.kind == Entry::kLocal) remove_chunks(gone.attr);
  if (gone.kind == Entry::kRemote) remove_chunks(adjust_link(gone.ino, false));
}

Attr Client::lookup(std::uint64_t parent, const std::string& name) {
  Writer w;
  w.u64(parent);
  w.bytes(name);
  Entry e = at_entry(parent, name, [&](std::uint32_t server) {
    std::string reply = call_mds(server, kLookup, w);
    Reader r(reply);
    return Entry::decode(r);
  });
  return attr_of(e);
}

Attr Client::getattr(std::uint64_t ino) {
  return attr_call(mds_of_ino(ino), kGetattr, ino_request(ino));
}

Attr Client::create(std::uint64_t parent, const std::string& name, std::uint32_t mode,
                    std::uint32_t uid, std::uint32_t gid, bool exclusive) {
  Writer w;
  w.u64(parent);
  w.bytes(name);
  w.u32(mode);
  w.u32(uid);
  w.u32(gid);
  w.boolean(exclusive);
  w.bytes({});
  return at_entry(parent, name,
                  [&](std::uint32_t server) { return attr_call(server, kCreate, w); });
}

Attr Client::mkdir(std::uint64_t parent, const std::string& name, std::uint32_t mode,
                   std::uint32_t uid, std::uint32_t gid) {
  return create(parent, name, S_IFDIR | (mode & 07777), uid, gid, true);
}

Attr Client::symlink(std::uint64_t parent, const std::string& name, const std::string& target,
                     std::uint32_t uid, std::uint32_t gid) {
  Writer w;
  w.u64(parent);
  w.bytes(name);
  w.u32(S_IFLNK | 0777);
  w.u32(uid);
  w.u32(gid);
  w.boolean(true);
  w.bytes(target);
  return at_entry(parent, name,
                  [&](std::uint32_t server) { return attr_call(server, kCreate, w); });
}

void Client::remove_chunks(const Attr& attr) {
  if (attr.nlink != 0 || attr.inline_data || !attr.is_reg()) return;
  for (auto server : attr.layout.servers)
    ds(server).call(kChunkRemove, ino_request(attr.ino).data());
}

void Client::unlink(std::uint64_t parent, const std::string& name) {
  Writer w;
  w.u64(parent);
  w.bytes(name);
  w.boolean(false);
  release(at_entry(parent, name, [&](std::uint32_t server) {
    std::string reply = call_mds(server, kUnlink, w);
    Reader r(reply);
    return Entry::decode(r);
  }));
}

DirInfo Client::freeze(std::uint32_t server, std::uint64_t dir, std::chrono::milliseconds lease) {
  Writer w;
  w.u64(dir);
  w.u32(static_cast<std::uint32_t>(lease.count()));
  std::string reply = call_mds(server, kFreezeDir, w);
  Reader r(reply);
  DirInfo info;
  info.entries_here = r.u64();
  info.split = r.boolean();
  return info;
}

std::vector<std::uint32_t> Client::freeze_empty_dir(std::uint64_t dir) {
  // Every server holding entries of dir refuses new ones while frozen, so an
  // emptiness seen on all of them stays true until the directory is gone.
  auto lease = std::max(settings_.rpc_timeout, std::chrono::milliseconds(1000));
  std::uint32_t home = placement_.home(dir);
  std::vector<std::uint32_t> frozen{home};
  DirInfo info = freeze(home, dir, lease);
  bool empty = info.entries_here == 0;
  learn_split(dir, info.split);
  if (empty && info.split) {
    for (std::uint32_t s = 0; s < mds_.size() && empty; ++s) {
      if (s == home) continue;
      frozen.push_back(s);
      empty = freeze(s, dir, lease).entries_here == 0;
    }
  }
  if (!empty) {
    thaw(dir, frozen, false);
    throw Error(ENOTEMPTY, "directory not empty");
  }
  return frozen;
}

void Client::thaw(std::uint64_t dir, const std::vector<std::uint32_t>& servers, bool forget) {
  for (auto s : servers) {
    try {
      if (forget) {
        call_mds(s, kForgetDir, ino_request(dir));
      } else {
        freeze(s, dir, std::chrono::milliseconds(0));
      }
    } catch (const Error&) {
      // The freeze lease runs out by itself.
    }
  }
}

void Client::rmdir(std::uint64_t parent, const std::string& name) {
  Attr dir = lookup(parent, name);
  if (!dir.is_dir()) throw Error(ENOTDIR, "not a directory");
  auto frozen = freeze_empty_dir(dir.ino);
  Writer w;
  w.u64(parent);
  w.bytes(name);
  w.boolean(true);
  Entry gone;
  try {
    gone = at_entry(parent, name, [&](std::uint32_t server) {
      std::string reply = call_mds(server, kUnlink, w);
      Reader r(reply);
      return Entry::decode(r);
    });
  } catch (...) {
    thaw(dir.ino, frozen, false);
    throw;
  }
  thaw(dir.ino, frozen, true);
  release(gone);
}

void Client::rename(std::uint64_t parent, const std::string& name, std::uint64_t new_parent,
                    const std::string& new_name, bool no_replace) {
  auto deadline = std::chrono::steady_clock::now() + settings_.rpc_timeout;
  while (true) {
    try {
      rename_once(parent, name, new_parent, new_name, no_replace);
      return;
    } catch (const Error& e) {
      // The target changed or a directory was split meanwhile: look again.
      bool retry = e.code() == EBUSY || e.code() == EREMCHG;
      if (!retry || std::chrono::steady_clock::now() >= deadline) throw;
      if (e.code() == EREMCHG) {
        learn_split(parent, false);
        learn_split(new_parent, false);
      }
    }
  }
}

void Client::rename_once(std::uint64_t parent, const std::string& name, std::uint64_t new_parent,
                         const std::string& new_name, bool no_replace) {
  Attr source = lookup(parent, name);
  std::optional<Attr> target;
  try {
    target = lookup(new_parent, new_name);
  } catch (const Error& e) {
    if (e.code() != ENOENT) throw;
  }
  if (target && no_replace) throw Error(EEXIST, "target exists");
  if (target && target->ino == source.ino) return;  // the same file: nothing to do
  std::vector<std::uint32_t> frozen;                // a directory being replaced must stay empty
  if (target && target->is_dir()) {
    if (!source.is_dir()) throw Error(EISDIR, "target is a directory");
    frozen = freeze_empty_dir(target->ino);
  } else if (target && source.is_dir()) {
    throw Error(ENOTDIR, "target is not a directory");
  }
  std::uint64_t expected = target ? target->ino : 0;
  // The lookups above asked the servers that hold both names.
  std::uint32_t from = entry_server(parent, name), to = entry_server(new_parent, new_name);
  Entry replaced;
  try {
    if (from == to) {
      Writer w;
      w.u64(parent);
      w.bytes(name);
      w.u64(new_parent);
      w.bytes(new_name);
      w.u64(expected);
      std::string reply = call_mds(from, kRename, w);
      Reader r(reply);
      replaced = Entry::decode(r);
    } else {
      // Across servers: count the extra link first, so that a crash at any
      // point leaves the file under one name or both, never dangling.
      adjust_link(source.ino, true);
      try {
        Writer w;
        w.u64(new_parent);
        w.bytes(new_name);
        w.u64(source.ino);
        w.u32(source.mode);
        w.u64(expected);
        std::string reply = call_mds(to, kPutEntry, w);
        Reader r(reply);
        replaced = Entry::decode(r);
      } catch (...) {
        adjust_link(source.ino, false);
        throw;
      }
      Writer w;
      w.u64(parent);
      w.bytes(name);
      w.u64(source.ino);
      try {
        call_mds(from, kRemoveEntry, w);
      } catch (const Error& e) {
        if (e.code() != ENOENT) throw;  // renamed or removed meanwhile by someone else
      }
      adjust_link(source.ino, false);
    }
  } catch (...) {
    thaw(expected, frozen, false);
    throw;
  }
  if (!frozen.empty()) thaw(expected, frozen, replaced.kind != Entry::kSameFile);
  if (replaced.kind != Entry::kSameFile) release(replaced);
}

Attr Client::link(std::uint64_t ino, std::uint64_t new_parent, const std::string& new_name) {
  return at_entry(new_parent, new_name, [&](std::uint32_t server) {
    if (server == mds_of_ino(ino)) {
      // Entry and inode on one server: the link count and the entry change together.
      Writer w;
      w.u64(ino);
      w.u64(new_parent);
      w.bytes(new_name);
      return attr_call(server, kLink, w);
    }
    Attr attr = getattr(ino);
    if (attr.is_dir()) throw Error(EPERM, "hard links to directories are not allowed");
    attr = adjust_link(ino, true);
    try {
      Writer w;
      w.u64(new_parent);
      w.bytes(new_name);
      w.u64(ino);
      w.u32(attr.mode);
      w.u64(0);
      call_mds(server, kPutEntry, w);
    } catch (...) {
      adjust_link(ino, false);
      throw;
    }
    return attr;
  });
}

std::vector<DirEntry> Client::readdir(std::uint64_t dir) {
  std::vector<DirEntry> out;
  auto read_server = [&](std::uint32_t server) {
    bool split = false;
    std::string after;
    std::size_t first = out.size();
    while (true) {
      Writer w;
      w.u64(dir);
      w.bytes(after);
      std::string reply = call_mds(server, kReaddir, w);
      Reader r(reply);
      std::uint32_t n = r.u32();
      for (std::uint32_t i = 0; i < n; ++i) {
        DirEntry e;
        e.name = r.string();
        e.ino = r.u64();
        e.mode = r.u32();
        out.push_back(std::move(e));
      }
      bool more = r.boolean();
      split = r.boolean();
      if (!more || out.size() == first) break;
      after = out.back().name;
    }
    return split;
  };
  std::uint32_t home = placement_.home(dir);
  bool split = read_server(home);
  learn_split(dir, split);
  if (split) {
    // A split directory: every server holds some of its virtual directories.
    for (std::uint32_t s = 0; s < mds_.size(); ++s) {
      if (s != home) read_server(s);
    }
    std::sort(out.begin(), out.end(),
              [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  }
  return out;
}

Attr Client::setattr(std::uint64_t ino, std::uint32_t mask, const Attr& v) {
  Writer w;
  w.u64(ino);
  w.u32(mask);
  w.u32(v.mode);
  w.u32(v.uid);
  w.u32(v.gid);
  w.u64(v.size);
  w.i64(v.atime_ns);
  w.i64(v.mtime_ns);
  return attr_call(mds_of_ino(ino), kSetattr, w);
}

void Client::stripe_out(const Attr& attr) {
  // Copy the inline bytes to where the striped file will keep them, then
  // switch the inode: a crash in between leaves the inline copy in charge.
  std::string data;
  if (attr.size > 0) {
    Writer w;
    w.u64(attr.ino);
    w.u64(0);
    w.u64(attr.size);
    std::string reply = call_mds(mds_of_ino(attr.ino), kReadInline, w);
    data = std::string(Reader(reply).bytes());
  }
  StripeLayout layout = StripeLayout::for_file(attr.ino, static_cast<std::uint32_t>(ds_.size()),
                                               settings_.stripe_count, settings_.stripe_size);
  if (!data.empty()) write_striped(layout, attr.ino, 0, data);
  Writer w;
  w.u64(attr.ino);
  w.u64(attr.size);
  attr_call(mds_of_ino(attr.ino), kMakeStriped, w);
}

Attr Client::truncate(std::uint64_t ino, std::uint64_t size) {
  Attr attr = getattr(ino);
  if (attr.is_dir()) throw Error(EISDIR, "is a directory");
  if (attr.inline_data && size > settings_.inline_threshold) {
    stripe_out(attr);
    attr = getattr(ino);
  }
  if (!attr.inline_data) {
    std::uint64_t keep_chunk = size / attr.layout.stripe_size;
    std::uint64_t keep_length = size % attr.layout.stripe_size;
    for (auto server : attr.layout.servers) {
      Writer w;
      w.u64(ino);
      w.u64(keep_chunk);
      w.u64(keep_length);
      ds(server).call(kChunkTruncate, w.data());
    }
  }
  Attr values;
  values.size = size;
  return setattr(ino, kSetSize, values);
}

void Client::write_striped(const StripeLayout& layout, std::uint64_t ino, std::uint64_t offset,
                           std::string_view data) {
  on_each_server(split_range(layout, offset, data.size()), [&](const ChunkPiece& piece) {
    Writer w;
    w.u64(ino);
    w.u64(piece.chunk);
    w.u64(piece.chunk_offset);
    w.bytes(data.substr(piece.file_offset - offset, piece.length));
    ds(piece.server).call(kChunkWrite, w.data());
  });
}

void Client::write(std::uint64_t ino, std::uint64_t offset, std::string_view data) {
  if (data.empty()) return;
  Attr attr = getattr(ino);
  if (!attr.is_reg()) throw Error(attr.is_dir() ? EISDIR : EINVAL, "not a regular file");
  if (attr.inline_data) {
    if (offset + data.size() <= settings_.inline_threshold) {
      Writer w;
      w.u64(ino);
      w.u64(offset);
      w.bytes(data);
      try {
        attr_call(mds_of_ino(ino), kWriteInline, w);
        return;
      } catch (const Error& e) {
        if (e.code() != EFBIG && e.code() != EAGAIN) throw;  // the server's threshold may be lower
      }
      attr = getattr(ino);
    }
    if (attr.inline_data) {
      stripe_out(attr);
      attr = getattr(ino);
    }
  }
  write_striped(attr.layout, ino, offset, data);
  Writer w;
  w.u64(ino);
  w.u64(offset + data.size());
  w.i64(now_ns());
  attr_call(mds_of_ino(ino), kExtend, w);
}

std::string Client::read(std::uint64_t ino, std::uint64_t offset, std::uint64_t length) {
  Attr attr = getattr(ino);
  if (attr.is_dir()) throw Error(EISDIR, "is a directory");
  if (offset >= attr.size) return {};
  length = std::min(length, attr.size - offset);
  if (attr.inline_data) {
    Writer w;
    w.u64(ino);
    w.u64(offset);
    w.u64(length);
    std::string reply = call_mds(mds_of_ino(ino), kReadInline, w);
    std::string out(Reader(reply).bytes());
    out.resize(length, '\0');
    return out;
  }
  std::string out(length, '\0');  // holes read as zeros
  on_each_server(split_range(attr.layout, offset, length), [&](const ChunkPiece& piece) {
    Writer w;
    w.u64(ino);
    w.u64(piece.chunk);
    w.u64(piece.chunk_offset);
    w.u64(piece.length);
    std::string reply = ds(piece.server).call(kChunkRead, w.data());
    std::string_view bytes = Reader(reply).bytes();
    // Pieces are disjoint ranges of `out`, so servers' threads never overlap.
    std::memcpy(out.data() + (piece.file_offset - offset), bytes.data(),
                std::min<std::size_t>(bytes.size(), piece.length));
  });
  return out;
}

void Client::fsync(std::uint64_t ino) {
  Attr attr = getattr(ino);  // metadata and inline data are durable once acknowledged
  if (attr.inline_data || !attr.is_reg()) return;
  for (auto server : attr.layout.servers) ds(server).call(kChunkFsync, ino_request(ino).data());
}

std::pair<std::uint64_t, std::string> Client::parent_of(const std::string& path) {
  if (path.empty() || path[0] != '/')
    throw Error(EINVAL, fmt::format("\"{}\" is not an absolute path", path));
  std::uint64_t dir = kRootIno;
  std::size_t pos = 1;
  while (true) {
    while (pos < path.size() && path[pos] == '/') ++pos;
    std::size_t slash = path.find('/', pos);
    std::string name =
        path.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    std::size_t next = slash == std::string::npos ? path.size() : slash;
    while (next < path.size() && path[next] == '/') ++next;
    if (next >= path.size()) return {dir, name};
    Attr a = lookup(dir, name);
    if (!a.is_dir())
      throw Error(ENOTDIR, fmt::format("{} is not a directory", path.substr(0, slash)));
    dir = a.ino;
    pos = next;
  }
}

Attr Client::stat(const std::string& path) {
  auto [dir, name] = parent_of(path);
  if (name.empty()) return getattr(dir);
  return lookup(dir, name);
}

Location Client::locate(const std::string& path) {
  auto [dir, name] = parent_of(path);
  Attr attr = name.empty() ? getattr(dir) : lookup(dir, name);
  Location loc;
  loc.entry_server = name.empty() ? "(root)" : members_.mds[entry_server(dir, name)].to_string();
  loc.inode_server = members_.mds[mds_of_ino(attr.ino)].to_string();
  loc.inline_data = attr.inline_data || !attr.is_reg();
  loc.size = attr.size;
  if (loc.inline_data) {
    loc.bytes_by_server.emplace_back(loc.inode_server, loc.size);
    return loc;
  }
  for (auto s : attr.layout.servers) loc.data_servers.push_back(members_.ds.at(s).to_string());
  loc.stripe_size = attr.layout.stripe_size;
  auto bytes = bytes_per_position(attr.layout, attr.size);
  for (std::size_t i = 0; i < bytes.size(); ++i)
    if (bytes[i] > 0) loc.bytes_by_server.emplace_back(loc.data_servers[i], bytes[i]);
  std::stable_sort(loc.bytes_by_server.begin(), loc.bytes_by_server.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return loc;
}

std::string Client::server_status(bool metadata, std::uint32_t index) {
  std::string reply = metadata ? mds(index).call(kMdsStatus, {}) : ds(index).call(kDsStatus, {});
  return std::string(Reader(reply).bytes());
}

}  // namespace kapok

namespace kapok {

Usage Client::usage() {
  Usage u;
  for (std::uint32_t i = 0; i < mds_.size(); ++i) {
    auto j = nlohmann::json::parse(server_status(true, i));
    u.keys += j["keys"].get<std::uint64_t>();
    u.groups_total += j["groups_total"].get<std::uint64_t>();
    u.groups_free += j["groups_free"].get<std::uint64_t>();
  }
  for (std::uint32_t i = 0; i < ds_.size(); ++i) {
    auto j = nlohmann::json::parse(server_status(false, i));
    u.bytes_total += j["bytes_total"].get<std::uint64_t>();
    u.bytes_free += j["bytes_free"].get<std::uint64_t>();
  }
  return u;
}

}  // namespace kapok
