// SPDX-License-Identifier: GPL-2.0-or-later
//
// Kapok's wire protocol on libconverge's RPC layer: method numbers, file
// attributes, the members file, and the metadata keys servers store.
// Statuses are POSIX errno values, which clients return as they are.
#pragma once

#include "kapok/common/striping.h"
#include "converge/rpc/rpc.h"

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kapok {

enum Method : std::uint32_t {
  // Metadata servers. Calls naming a directory entry go to the server that
  // holds it (see Placement) and answer EREMCHG when sent elsewhere, EAGAIN
  // while the directory is being split or removed (retry shortly).
  kLookup = 100,  // parent, name -> Entry
  kGetattr,       // ino -> attr
  kCreate,        // parent, name, mode, uid, gid, exclusive, symlink target -> attr
  kUnlink,        // parent, name, want_dir -> Entry (local: after the link count drop)
  kReaddir,       // dir ino, after -> [name, ino, mode], more, split
  kSetattr,       // ino, mask, fields -> attr
  kReadInline,    // ino, offset, length -> bytes
  kWriteInline,   // ino, offset, bytes -> attr; EFBIG when it would pass the inline threshold
  kMakeStriped,   // ino, size -> attr: the file's data now lives on data servers
  kExtend,        // ino, end, mtime -> attr: size = max(size, end)
  kRename,        // parent, name, new parent, new name, expected target ino (0: none) -> Entry
                  // replaced; both entries on this server
  kStatfs,        // -> counts
  kLink,          // ino, new parent, new name (inode and entry on this server) -> attr
  kMdsStatus,     // -> JSON
  kPutEntry,      // dir, name, ino, mode, expected target ino (0: none) -> Entry replaced
  kRemoveEntry,   // dir, name, ino: removes the entry if it still names ino
  kAdjustLink,    // ino, +1 or -1 -> attr (nlink 0: the inode is gone)
  kFreezeDir,     // dir, lease ms (0: thaw) -> DirInfo; frozen: no new entries
  kForgetDir,     // dir: it was removed; drop its state here
  kAdoptEntries,  // dir, split, [name, ino, mode]: this server's entries of dir, replaced
  kDirInfo,       // dir -> DirInfo
  // data servers
  kChunkWrite = 200,  // ino, chunk, offset, bytes
  kChunkRead,         // ino, chunk, offset, length -> bytes (short at the chunk's end)
  kChunkTruncate,     // ino, first chunk to keep partly, its new length (drops later chunks)
  kChunkRemove,       // ino: every chunk
  kChunkFsync,        // ino
  kDsStatus,          // -> JSON
};

constexpr std::uint64_t kRootIno = 1;

struct Attr {
  std::uint64_t ino = 0;
  std::uint32_t mode = 0;  // type and permission bits, as in st_mode
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint32_t nlink = 1;
  std::uint64_t size = 0;
  std::int64_t atime_ns = 0, mtime_ns = 0, ctime_ns = 0;
  bool inline_data = true;  // regular files: data inside the metadata record
  StripeLayout layout;      // when not inline
  std::string symlink;      // target of a symbolic link

  bool is_dir() const { return S_ISDIR(mode); }
  bool is_reg() const { return S_ISREG(mode); }
  void encode(converge::wire::Writer& w) const;
  static Attr decode(converge::wire::Reader& r);
};

// What a call about one directory entry found. An entry may name an inode on
// another metadata server (after a rename or hard link across servers, or a
// directory split); then only its number comes back and, where a link count
// must drop, the caller drops it there with kAdjustLink.
struct Entry {
  enum Kind : std::uint8_t { kNone, kLocal, kRemote, kSameFile };
  Kind kind = kNone;
  Attr attr;              // kLocal
  std::uint64_t ino = 0;  // kRemote, kLocal

  void encode(converge::wire::Writer& w) const;
  static Entry decode(converge::wire::Reader& r);
};

struct DirInfo {
  std::uint64_t entries_here = 0;
  bool split = false;
};

// setattr mask bits
enum SetattrMask : std::uint32_t {
  kSetMode = 1,
  kSetUid = 2,
  kSetGid = 4,
  kSetSize = 8,
  kSetAtime = 16,
  kSetMtime = 32,
};

struct Members {
  std::vector<converge::rpc::Endpoint> mds;
  std::vector<converge::rpc::Endpoint> ds;

  // {"mds": ["127.0.0.1:7100", ...], "ds": [...]}; errors say where.
  static Members load(const std::string& path);
  std::string to_json() const;
};

// Inode numbers carry their metadata server: top 16 bits.
inline std::uint32_t mds_of_ino(std::uint64_t ino) {
  return static_cast<std::uint32_t>(ino >> 48);
}
inline std::uint64_t make_ino(std::uint32_t mds, std::uint64_t counter) {
  return (std::uint64_t{mds} << 48) | counter;
}

std::int64_t now_ns();

}  // namespace kapok
