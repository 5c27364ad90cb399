// SPDX-License-Identifier: GPL-2.0-or-later
//
// A metadata server: inodes and directory entries in the flat key-value
// engine ("i"+ino -> attributes and inline data, "d"+dir+name -> ino and
// type), an in-memory directory index rebuilt at start, and the RPC methods
// clients call. A file's inode lives on the metadata server of its directory
// entry, so create, stat and small-file reads are one RPC each.
#pragma once

#include "common/protocol.h"
#include "daemon/metadata_engine.h"

#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace kapok {

struct NamespaceOptions {
  std::uint32_t mds_index = 0;
  std::uint32_t mds_count = 1;
  std::uint32_t ds_count = 1;
  std::uint64_t inline_threshold = 64u << 10;
  std::uint32_t stripe_count = 0;  // 0: all data servers
  std::uint64_t stripe_size = 1u << 20;
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

  Attr load(std::uint64_t ino, std::string* data = nullptr);  // ENOENT if absent
  std::uint64_t store(const Attr& attr, std::string_view data);
  std::uint64_t store_dentry(std::uint64_t dir, const std::string& name, const Dentry& d);
  void rebuild_directory_index();
  // One directory entry of `attr` is gone: count the link down, or remove the
  // inode with the last one (nlink 0 tells the caller to drop its chunks).
  // Called with mutex_ held; returns the engine sequence to wait for.
  std::uint64_t drop_link(Attr& attr, const std::string& data);

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
  void statfs(converge::wire::Reader& in, converge::wire::Writer& out);
  void status(converge::wire::Reader& in, converge::wire::Writer& out);

  std::unique_ptr<MetadataEngine> engine_;
  NamespaceOptions options_;
  // One lock for check-then-act on this server's namespace; device syncs
  // happen after it is released.
  std::mutex mutex_;
  std::unordered_map<std::uint64_t, std::map<std::string, Dentry>> directories_;
  std::uint64_t next_counter_ = 2;
};

}  // namespace kapok
