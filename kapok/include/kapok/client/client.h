// SPDX-License-Identifier: GPL-2.0-or-later
//
// libkapok: the native client. It routes each call to the server that owns
// the data (a directory's entries: its metadata server by hash; an inode:
// the server its number names; a chunk: the data server of its stripe), keeps
// small files inline in their metadata record, moves a file out of line to
// striped chunks when it grows past the inline threshold, and returns POSIX
// errno values as kapok::Error.
#pragma once

#include "kapok/common/placement.h"
#include "kapok/common/protocol.h"
#include "kapok/common/settings.h"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <string>
#include <vector>

namespace kapok {

using Error = converge::rpc::Error;  // code() is a POSIX errno

struct DirEntry {
  std::string name;
  std::uint64_t ino;
  std::uint32_t mode;
};

// Space over all servers, from their status.
struct Usage {
  std::uint64_t keys = 0, groups_total = 0, groups_free = 0;  // metadata
  std::uint64_t bytes_total = 0, bytes_free = 0;              // data
};

struct Location {
  std::string entry_server;  // metadata server holding the directory entry
  std::string inode_server;  // metadata server holding the inode (and inline data)
  bool inline_data = true;
  std::vector<std::string> data_servers;  // stripe order, when not inline
  std::uint64_t stripe_size = 0;
  std::uint64_t size = 0;  // bytes in the file
  // How many of the file's bytes each server holds, most first (ties in
  // stripe order): the inode's server for inline data, else data servers.
  std::vector<std::pair<std::string, std::uint64_t>> bytes_by_server;
};

class Client {
 public:
  Client(Members members, Settings settings);

  // Namespace, by parent inode and name.
  Attr lookup(std::uint64_t parent, const std::string& name);
  Attr getattr(std::uint64_t ino);
  Attr create(std::uint64_t parent, const std::string& name, std::uint32_t mode, std::uint32_t uid,
              std::uint32_t gid, bool exclusive);
  Attr mkdir(std::uint64_t parent, const std::string& name, std::uint32_t mode, std::uint32_t uid,
             std::uint32_t gid);
  Attr symlink(std::uint64_t parent, const std::string& name, const std::string& target,
               std::uint32_t uid, std::uint32_t gid);
  void unlink(std::uint64_t parent, const std::string& name);
  void rmdir(std::uint64_t parent, const std::string& name);
  // Atomic for observers of the target: it names the old file or the new
  // one throughout. no_replace: EEXIST if the target exists (RENAME_NOREPLACE).
  void rename(std::uint64_t parent, const std::string& name, std::uint64_t new_parent,
              const std::string& new_name, bool no_replace = false);
  Attr link(std::uint64_t ino, std::uint64_t new_parent, const std::string& new_name);
  std::vector<DirEntry> readdir(std::uint64_t dir);
  Attr setattr(std::uint64_t ino, std::uint32_t mask, const Attr& values);
  Attr truncate(std::uint64_t ino, std::uint64_t size);

  // Data.
  void write(std::uint64_t ino, std::uint64_t offset, std::string_view data);
  std::string read(std::uint64_t ino, std::uint64_t offset, std::uint64_t length);
  void fsync(std::uint64_t ino);

  // Paths ("/a/b"), for tools.
  Attr stat(const std::string& path);
  std::pair<std::uint64_t, std::string> parent_of(
      const std::string& path);  // parent ino, last name
  Location locate(const std::string& path);

  const Members& members() const { return members_; }
  // Calls sent to servers so far (for tests and benchmarks of aggregation).
  std::uint64_t calls() const { return calls_.load(); }
  std::string server_status(bool mds, std::uint32_t index);  // JSON
  Usage usage();

 private:
  converge::rpc::Client& mds(std::uint32_t index);
  converge::rpc::Client& ds(std::uint32_t index);
  std::string call_mds(std::uint32_t index, Method m, const converge::wire::Writer& w);
  Attr attr_call(std::uint32_t index, Method m, const converge::wire::Writer& w);
  // Runs call(server) on the server that holds (dir, name), learning from
  // EREMCHG whether dir is split and retrying EAGAIN until the timeout.
  template <class Call>
  auto at_entry(std::uint64_t dir, const std::string& name, Call&& call);
  bool known_split(std::uint64_t dir);
  void learn_split(std::uint64_t dir, bool split);
  std::uint32_t entry_server(std::uint64_t dir, const std::string& name);
  Attr attr_of(const Entry& e);  // fetches a remote inode's attributes
  Attr adjust_link(std::uint64_t ino, bool add);
  void release(const Entry& gone);  // drops a link the server left to us
  DirInfo freeze(std::uint32_t server, std::uint64_t dir, std::chrono::milliseconds lease);
  std::vector<std::uint32_t> freeze_empty_dir(std::uint64_t dir);  // ENOTEMPTY
  void thaw(std::uint64_t dir, const std::vector<std::uint32_t>& servers, bool forget);
  void rename_once(std::uint64_t parent, const std::string& name, std::uint64_t new_parent,
                   const std::string& new_name, bool no_replace);
  void stripe_out(const Attr& attr);  // inline -> striped, data preserved
  void write_striped(const StripeLayout& layout, std::uint64_t ino, std::uint64_t offset,
                     std::string_view data);
  void remove_chunks(const Attr& attr);

  Members members_;
  Settings settings_;
  Placement placement_;
  std::mutex split_mutex_;
  std::unordered_set<std::uint64_t> split_dirs_;
  std::vector<std::unique_ptr<converge::rpc::Client>> mds_, ds_;
  std::atomic<std::uint64_t> calls_{0};
};

}  // namespace kapok
