// SPDX-License-Identifier: GPL-2.0-or-later
#include "client/client.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <functional>
#include <future>
#include <map>

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
    : members_(std::move(members)), settings_(settings) {
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

std::uint32_t Client::dir_server(std::uint64_t dir) const {
  return mds_of_dir(dir, static_cast<std::uint32_t>(mds_.size()));
}

Attr Client::lookup(std::uint64_t parent, const std::string& name) {
  Writer w;
  w.u64(parent);
  w.bytes(name);
  return attr_call(dir_server(parent), kLookup, w);
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
  return attr_call(dir_server(parent), kCreate, w);
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
  return attr_call(dir_server(parent), kCreate, w);
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
  remove_chunks(attr_call(dir_server(parent), kUnlink, w));
}

void Client::rmdir(std::uint64_t parent, const std::string& name) {
  Attr dir = lookup(parent, name);
  if (!dir.is_dir()) throw Error(ENOTDIR, "not a directory");
  // Its entries live on their own metadata server: check there first.
  if (!readdir(dir.ino).empty()) throw Error(ENOTEMPTY, "directory not empty");
  Writer w;
  w.u64(parent);
  w.bytes(name);
  w.boolean(true);
  attr_call(dir_server(parent), kUnlink, w);
}

void Client::rename(std::uint64_t parent, const std::string& name, std::uint64_t new_parent,
                    const std::string& new_name) {
  std::uint32_t server = dir_server(parent);
  if (dir_server(new_parent) != server) {
    // Entries of the two directories live on different metadata servers:
    // callers such as mv(1) then copy and delete.
    throw Error(EXDEV, "rename across metadata servers");
  }
  Writer w;
  w.u64(parent);
  w.bytes(name);
  w.u64(new_parent);
  w.bytes(new_name);
  std::string reply = call_mds(server, kRename, w);
  Reader r(reply);
  if (r.boolean()) remove_chunks(Attr::decode(r));
}

Attr Client::link(std::uint64_t ino, std::uint64_t new_parent, const std::string& new_name) {
  // The new entry must live where the inode does, so that the link count and
  // the entry change together.
  if (dir_server(new_parent) != mds_of_ino(ino))
    throw Error(EXDEV, "hard link across metadata servers");
  Writer w;
  w.u64(ino);
  w.u64(new_parent);
  w.bytes(new_name);
  return attr_call(mds_of_ino(ino), kLink, w);
}

std::vector<DirEntry> Client::readdir(std::uint64_t dir) {
  std::vector<DirEntry> out;
  std::string after;
  while (true) {
    Writer w;
    w.u64(dir);
    w.bytes(after);
    std::string reply = call_mds(dir_server(dir), kReaddir, w);
    Reader r(reply);
    std::uint32_t n = r.u32();
    for (std::uint32_t i = 0; i < n; ++i) {
      DirEntry e;
      e.name = r.string();
      e.ino = r.u64();
      e.mode = r.u32();
      out.push_back(std::move(e));
    }
    if (!r.boolean() || n == 0) break;
    after = out.back().name;
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
  loc.entry_server = name.empty() ? "(root)" : members_.mds[dir_server(dir)].to_string();
  loc.inode_server = members_.mds[mds_of_ino(attr.ino)].to_string();
  loc.inline_data = attr.inline_data || !attr.is_reg();
  if (!loc.inline_data) {
    for (auto s : attr.layout.servers) loc.data_servers.push_back(members_.ds.at(s).to_string());
    loc.stripe_size = attr.layout.stripe_size;
  }
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
