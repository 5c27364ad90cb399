// SPDX-License-Identifier: GPL-2.0-or-later
//
// A metadata server: inodes and directory entries in the flat key-value
// engine ("i"+ino -> attributes and inline data, "d"+dir+name -> ino and
// type, "s"+dir -> the directory is split), an in-memory directory index
// rebuilt at start, and the RPC methods clients call. A new file's inode
// lives on the server of its directory entry, so create, stat and small-file
// reads are one RPC each; renames, hard links and splits across servers leave
// entries naming inodes elsewhere.
//
// Splitting: when a directory's home passes the split threshold it hands the
// entries of the virtual directories other servers own to them
// (kAdoptEntries), then marks the directory split and drops its copies.
// Until then it answers EAGAIN for changes to the names that move, so no
// change is lost in between.
#pragma once

#include "kapok/common/placement.h"
#include "kapok/common/protocol.h"
#include "kapok/common/settings.h"
#include "kapok/daemon/metadata_engine.h"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace kapok {

// Where this server stands among its peers; its thresholds, striping and
// peer timeout come from the shared Settings (their only defaults).
struct NamespaceOptions {
  std::uint32_t mds_index = 0;
  std::vector<converge::rpc::Endpoint> mds;  // every metadata server, this one included
  std::uint32_t ds_count = 1;
  Settings settings;
};

class NamespaceService {
 public:
  NamespaceService(std::unique_ptr<MetadataEngine> engine, NamespaceOptions options);
  void register_methods(converge::rpc::Server& server);

 private:
  struct Dentry {
    std::uint64_t ino;
    std::uint32_t mode;
  };
  using Directory = std::map<std::string, Dentry>;

  Attr load(std::uint64_t ino, std::string* data = nullptr);  // ENOENT if absent
  std::uint64_t store(const Attr& attr, std::string_view data);
  std::uint64_t store_dentry(std::uint64_t dir, const std::string& name, const Dentry& d);
  void rebuild_directory_index();
  bool is_local(std::uint64_t ino) const { return mds_of_ino(ino) == options_.mds_index; }

  // Called with mutex_ held. Throws EREMCHG if (dir, name) lives elsewhere;
  // for changes also ENOENT if dir was removed and EAGAIN while it is
  // frozen or being split.
  static void check_setattr(const Attr& attr, std::uint32_t mask, std::uint32_t mode,
                            std::uint32_t uid, std::uint32_t gid);
  static void drop_privilege_bits(Attr& attr);
  void check_entry(std::uint64_t dir, std::string_view name, bool change);
  bool frozen(std::uint64_t dir);
  // One directory entry of `attr` is gone: count the link down, or remove the
  // inode with the last one (nlink 0 tells the caller to drop its chunks).
  // Called with mutex_ held; returns the engine sequence to wait for.
  std::uint64_t drop_link(Attr& attr, const std::string& data);
  // The entry `d` no longer names its inode: drop the link here if the inode
  // is local (reply kLocal) or leave it to the caller (kRemote).
  Entry release(const Dentry& d, std::uint64_t& seq);
  Entry describe(const Dentry& d);
  DirInfo info(std::uint64_t dir);
  void maybe_split(std::uint64_t dir);
  converge::rpc::Client& peer(std::uint32_t index);

  void lookup(converge::wire::Reader& in, converge::wire::Writer& out);
  void getattr(converge::wire::Reader& in, converge::wire::Writer& out);
  void create(converge::wire::Reader& in, converge::wire::Writer& out);
  void unlink(converge::wire::Reader& in, converge::wire::Writer& out);
  void readdir(converge::wire::Reader& in, converge::wire::Writer& out);
  void setattr(converge::wire::Reader& in, converge::wire::Writer& out);
  void read_inline(converge::wire::Reader& in, converge::wire::Writer& out);
  void write_inline(converge::wire::Reader& in, converge::wire::Writer& out);
  void make_striped(converge::wire::Reader& in, converge::wire::Writer& out);
  void extend(converge::wire::Reader& in, converge::wire::Writer& out);
  void rename(converge::wire::Reader& in, converge::wire::Writer& out);
  void link(converge::wire::Reader& in, converge::wire::Writer& out);
  void put_entry(converge::wire::Reader& in, converge::wire::Writer& out);
  void remove_entry(converge::wire::Reader& in, converge::wire::Writer& out);
  void adjust_link(converge::wire::Reader& in, converge::wire::Writer& out);
  void freeze_dir(converge::wire::Reader& in, converge::wire::Writer& out);
  void forget_dir(converge::wire::Reader& in, converge::wire::Writer& out);
  void adopt_entries(converge::wire::Reader& in, converge::wire::Writer& out);
  void dir_info(converge::wire::Reader& in, converge::wire::Writer& out);
  void statfs(converge::wire::Reader& in, converge::wire::Writer& out);
  void status(converge::wire::Reader& in, converge::wire::Writer& out);

  std::unique_ptr<MetadataEngine> engine_;
  NamespaceOptions options_;
  Placement placement_;
  // One lock for check-then-act on this server's namespace; device syncs
  // and calls to other servers happen after it is released.
  std::mutex mutex_;
  std::unordered_map<std::uint64_t, Directory> directories_;
  std::unordered_set<std::uint64_t> split_;      // persisted as "s" keys
  std::unordered_set<std::uint64_t> splitting_;  // home only, during a split
  std::unordered_map<std::uint64_t, std::chrono::steady_clock::time_point> frozen_;
  std::unordered_set<std::uint64_t> removed_;
  std::uint64_t next_counter_ = 2;
  std::mutex peers_mutex_;
  std::vector<std::unique_ptr<converge::rpc::Client>> peers_;
};

}  // namespace kapok
