// SPDX-License-Identifier: GPL-2.0-or-later
//
// The namespace service's directory-split protocol (docs/kapok.md): a
// directory that outgrows split_threshold entries is frozen, its entries are
// handed to the other metadata servers by name hash (adopt_entries), and it
// is marked split; servers ask each other about a directory's state
// (dir_info) and drop what they hold of a removed one (forget_dir). The
// ordinary operations are in namespace_service.cpp.
#include "kapok/daemon/namespace_keys.h"
#include "kapok/daemon/namespace_service.h"

#include "converge/log.h"

#include <fmt/format.h>

#include <cerrno>

namespace kapok {

using converge::wire::Reader;
using converge::wire::Writer;
namespace log = converge::log;

converge::rpc::Client& NamespaceService::peer(std::uint32_t index) {
  std::lock_guard lock(peers_mutex_);
  auto& p = peers_.at(index);
  if (!p)
    p = std::make_unique<converge::rpc::Client>(options_.mds.at(index),
                                                options_.settings.rpc_timeout);
  return *p;
}

void NamespaceService::maybe_split(std::uint64_t dir) {
  std::map<std::uint32_t, std::vector<std::pair<std::string, Dentry>>> moving;
  {
    std::lock_guard lock(mutex_);
    if (split_.contains(dir) || !splitting_.insert(dir).second) return;
    for (const auto& [name, d] : directories_[dir]) {
      std::uint32_t owner = placement_.server_of(dir, name, true);
      if (owner != options_.mds_index) moving[owner].emplace_back(name, d);
    }
  }
  // Changes to the moving names are refused (EAGAIN) until the split is
  // done, so this snapshot stays exact while the other servers take it.
  auto adopt = [&](std::uint32_t server, bool split,
                   const std::vector<std::pair<std::string, Dentry>>& entries) {
    Writer w;
    w.u64(dir);
    w.boolean(split);
    w.u32(static_cast<std::uint32_t>(entries.size()));
    for (const auto& [name, d] : entries) {
      w.bytes(name);
      w.u64(d.ino);
      w.u32(d.mode);
    }
    peer(server).call(kAdoptEntries, w.data());
  };
  std::vector<std::uint32_t> done;
  try {
    for (std::uint32_t server = 0; server < placement_.mds_count(); ++server) {
      if (server == options_.mds_index) continue;
      adopt(server, true, moving[server]);
      done.push_back(server);
    }
  } catch (const std::exception& e) {
    log::warning("splitting directory {} failed, trying again later: {}", dir, e.what());
    for (auto server : done) {
      try {
        adopt(server, false, {});
      } catch (const std::exception&) {
        // Its stale copies are replaced by the next attempt's.
      }
    }
    std::lock_guard lock(mutex_);
    splitting_.erase(dir);
    return;
  }
  std::uint64_t seq;
  std::size_t moved = 0;
  {
    std::lock_guard lock(mutex_);
    seq = engine_->put_nowait(split_key(dir), {});
    auto& entries = directories_[dir];
    for (const auto& [server, list] : moving) {
      for (const auto& [name, d] : list) {
        seq = std::max(seq, engine_->remove_nowait(dentry_key(dir, name)));
        entries.erase(name);
        ++moved;
      }
    }
    split_.insert(dir);
    splitting_.erase(dir);
  }
  engine_->wait_durable(seq);
  log::info("split directory {}: {} entries moved to {} other servers", dir, moved,
            placement_.mds_count() - 1);
}

void NamespaceService::adopt_entries(Reader& in, Writer&) {
  std::uint64_t dir = in.u64();
  bool split = in.boolean();
  std::uint32_t n = in.u32();
  Directory incoming;
  for (std::uint32_t i = 0; i < n; ++i) {
    std::string name = in.string();
    std::uint64_t ino = in.u64();
    std::uint32_t mode = in.u32();
    incoming[std::move(name)] = {ino, mode};
  }
  std::uint64_t seq = 0;
  {
    std::lock_guard lock(mutex_);
    // Before the split completes no other server holds entries of dir, so
    // whatever is here is a copy from an earlier, failed attempt.
    auto& entries = directories_[dir];
    for (const auto& [name, d] : entries)
      seq = std::max(seq, engine_->remove_nowait(dentry_key(dir, name)));
    entries.clear();
    for (const auto& [name, d] : incoming) seq = std::max(seq, store_dentry(dir, name, d));
    entries = std::move(incoming);
    if (split) {
      seq = std::max(seq, engine_->put_nowait(split_key(dir), {}));
      split_.insert(dir);
    } else if (split_.erase(dir)) {
      seq = std::max(seq, engine_->remove_nowait(split_key(dir)));
    }
    if (entries.empty()) directories_.erase(dir);
  }
  if (seq) engine_->wait_durable(seq);
}

DirInfo NamespaceService::info(std::uint64_t dir) {
  DirInfo i;
  auto d = directories_.find(dir);
  i.entries_here = d == directories_.end() ? 0 : d->second.size();
  i.split = split_.contains(dir);
  return i;
}

void NamespaceService::freeze_dir(Reader& in, Writer& out) {
  std::uint64_t dir = in.u64();
  std::uint32_t lease_ms = in.u32();
  std::lock_guard lock(mutex_);
  if (lease_ms == 0)
    frozen_.erase(dir);
  else
    frozen_[dir] = std::chrono::steady_clock::now() + std::chrono::milliseconds(lease_ms);
  DirInfo i = info(dir);
  out.u64(i.entries_here);
  out.boolean(i.split);
}

void NamespaceService::dir_info(Reader& in, Writer& out) {
  std::uint64_t dir = in.u64();
  std::lock_guard lock(mutex_);
  DirInfo i = info(dir);
  out.u64(i.entries_here);
  out.boolean(i.split);
}

void NamespaceService::forget_dir(Reader& in, Writer&) {
  std::uint64_t dir = in.u64();
  std::uint64_t seq = 0;
  {
    std::lock_guard lock(mutex_);
    directories_.erase(dir);
    if (split_.erase(dir)) seq = engine_->remove_nowait(split_key(dir));
    frozen_.erase(dir);
    // Late creates from clients that looked the directory up before it went.
    removed_.insert(dir);
  }
  if (seq) engine_->wait_durable(seq);
}

}  // namespace kapok
