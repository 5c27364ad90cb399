// SPDX-License-Identifier: GPL-2.0-or-later
//
// kapok-fuse: mounts Kapok with libfuse3's low-level API, whose inode-based
// calls map one to one onto libkapok. The kernel checks permissions from the
// attributes Kapok returns (default_permissions); errors are the errno values
// the servers answer with.
#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>

#include "kapok/client/client.h"
#include "kapok/client/client_options.h"
#include "kapok/client/open_file.h"
#include "converge/cli.h"
#include "converge/log.h"

#include <fmt/format.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

namespace {

namespace log = converge::log;
using kapok::Attr;
using kapok::Client;

constexpr double kTimeout = 1.0;  // seconds the kernel may cache entries and attributes

// For close-to-open consistency (op_open).
fuse_session* g_session = nullptr;

constexpr const char* kDescription =
    R"(Mounts Kapok at MOUNTPOINT. -f stays in the foreground; SIGTERM or
fusermount3 -u unmounts. The mount is shared by all users, with permissions
checked by the kernel from each file's mode, uid and gid.)";

Client* g_client = nullptr;

// Open files by inode: buffered writes of any of them must reach the servers
// before anyone reads the file or its size.
class OpenFiles {
 public:
  kapok::OpenFile* open(fuse_ino_t ino) {
    auto file = std::make_unique<kapok::OpenFile>(*g_client, ino);
    std::lock_guard lock(mutex_);
    kapok::OpenFile* raw = file.get();
    files_.emplace(ino, std::move(file));
    return raw;
  }
  void close(kapok::OpenFile* file) {
    std::unique_ptr<kapok::OpenFile> owned;
    {
      std::lock_guard lock(mutex_);
      auto [first, last] = files_.equal_range(file->ino());
      for (auto it = first; it != last; ++it) {
        if (it->second.get() == file) {
          owned = std::move(it->second);
          files_.erase(it);
          break;
        }
      }
    }
    if (owned) owned->flush();
  }
  // Flushes every open file of `ino`; true if any had buffered data.
  bool flush(fuse_ino_t ino) {
    std::vector<kapok::OpenFile*> dirty;
    {
      std::lock_guard lock(mutex_);
      auto [first, last] = files_.equal_range(ino);
      for (auto it = first; it != last; ++it) dirty.push_back(it->second.get());
    }
    bool any = false;
    for (auto* f : dirty) {
      if (f->dirty()) {
        f->flush();
        any = true;
      }
    }
    return any;
  }

 private:
  std::mutex mutex_;
  std::unordered_multimap<fuse_ino_t, std::unique_ptr<kapok::OpenFile>> files_;
};

OpenFiles g_open_files;

kapok::OpenFile* handle(fuse_file_info* fi) {
  return reinterpret_cast<kapok::OpenFile*>(fi->fh);
}

struct stat to_stat(const Attr& a) {
  struct stat st {};
  st.st_ino = a.ino;
  st.st_mode = a.mode;
  st.st_nlink = a.nlink;
  st.st_uid = a.uid;
  st.st_gid = a.gid;
  st.st_size = static_cast<off_t>(a.size);
  st.st_blksize = 4096;
  st.st_blocks = static_cast<blkcnt_t>((a.size + 511) / 512);
  auto ts = [](std::int64_t ns) {
    return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  };
  st.st_atim = ts(a.atime_ns);
  st.st_mtim = ts(a.mtime_ns);
  st.st_ctim = ts(a.ctime_ns);
  return st;
}

void reply_entry(fuse_req_t req, const Attr& a) {
  fuse_entry_param e{};
  e.ino = a.ino;
  e.attr = to_stat(a);
  e.attr_timeout = kTimeout;
  e.entry_timeout = kTimeout;
  fuse_reply_entry(req, &e);
}

// Runs an operation; a failure becomes the errno reply the kernel expects.
template <typename Fn>
void guarded(fuse_req_t req, Fn&& fn) {
  try {
    fn();
  } catch (const kapok::Error& e) {
    fuse_reply_err(req, e.code() ? e.code() : EIO);
  } catch (const std::bad_alloc&) {
    fuse_reply_err(req, ENOMEM);
  } catch (const std::exception& e) {
    log::error("{}", e.what());
    fuse_reply_err(req, EIO);
  }
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  guarded(req, [&] {
    Attr a = g_client->lookup(parent, name);
    if (g_open_files.flush(a.ino)) a = g_client->getattr(a.ino);
    reply_entry(req, a);
  });
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  guarded(req, [&] {
    g_open_files.flush(ino);
    struct stat st = to_stat(g_client->getattr(ino));
    fuse_reply_attr(req, &st, kTimeout);
  });
}

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
  guarded(req, [&] {
    if (to_set & FUSE_SET_ATTR_SIZE)
      g_client->truncate(ino, static_cast<std::uint64_t>(attr->st_size));
    std::uint32_t mask = 0;
    Attr values;
    if (to_set & FUSE_SET_ATTR_MODE) mask |= kapok::kSetMode, values.mode = attr->st_mode;
    if (to_set & FUSE_SET_ATTR_UID) mask |= kapok::kSetUid, values.uid = attr->st_uid;
    if (to_set & FUSE_SET_ATTR_GID) mask |= kapok::kSetGid, values.gid = attr->st_gid;
    auto ns = [](const timespec& t) {
      return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
    };
    if (to_set & FUSE_SET_ATTR_ATIME) mask |= kapok::kSetAtime, values.atime_ns = ns(attr->st_atim);
    if (to_set & FUSE_SET_ATTR_ATIME_NOW)
      mask |= kapok::kSetAtime, values.atime_ns = kapok::now_ns();
    if (to_set & FUSE_SET_ATTR_MTIME) mask |= kapok::kSetMtime, values.mtime_ns = ns(attr->st_mtim);
    if (to_set & FUSE_SET_ATTR_MTIME_NOW)
      mask |= kapok::kSetMtime, values.mtime_ns = kapok::now_ns();
    Attr result = mask ? g_client->setattr(ino, mask, values) : g_client->getattr(ino);
    struct stat st = to_stat(result);
    fuse_reply_attr(req, &st, kTimeout);
  });
}

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  guarded(req, [&] {
    Attr a = g_client->getattr(ino);
    if (!S_ISLNK(a.mode)) throw kapok::Error(EINVAL, "not a symbolic link");
    fuse_reply_readlink(req, a.symlink.c_str());
  });
}

void op_mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t) {
  guarded(req, [&] {
    if (!S_ISREG(mode))
      throw kapok::Error(EPERM, "only regular files, directories and symbolic links");
    const fuse_ctx* ctx = fuse_req_ctx(req);
    reply_entry(req, g_client->create(parent, name, mode, ctx->uid, ctx->gid, true));
  });
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  guarded(req, [&] {
    const fuse_ctx* ctx = fuse_req_ctx(req);
    reply_entry(req, g_client->mkdir(parent, name, mode & ~ctx->umask, ctx->uid, ctx->gid));
  });
}

void op_symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  guarded(req, [&] {
    const fuse_ctx* ctx = fuse_req_ctx(req);
    reply_entry(req, g_client->symlink(parent, name, target, ctx->uid, ctx->gid));
  });
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  guarded(req, [&] {
    g_client->unlink(parent, name);
    fuse_reply_err(req, 0);
  });
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  guarded(req, [&] {
    g_client->rmdir(parent, name);
    fuse_reply_err(req, 0);
  });
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent,
               const char* new_name, unsigned int flags) {
  guarded(req, [&] {
    if (flags & RENAME_EXCHANGE) throw kapok::Error(EINVAL, "RENAME_EXCHANGE is not supported");
    g_client->rename(parent, name, new_parent, new_name, flags & RENAME_NOREPLACE);
    fuse_reply_err(req, 0);
  });
}

void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t new_parent, const char* new_name) {
  guarded(req, [&] { reply_entry(req, g_client->link(ino, new_parent, new_name)); });
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  guarded(req, [&] {
    if (g_client->getattr(ino).is_dir()) throw kapok::Error(EISDIR, "is a directory");
    // libfuse asks the kernel for atomic O_TRUNC: the truncation is ours to do.
    if (fi->flags & O_TRUNC) {
      g_open_files.flush(ino);
      g_client->truncate(ino, 0);
    }
    fi->keep_cache = 0;
    // Close-to-open consistency: what another client wrote and closed
    // before this open must be seen, size included, even if the kernel
    // cached this file's attributes less than kTimeout ago. Dropping them
    // (attributes only: no page lock is taken) makes the next stat ask us.
    if (g_session) fuse_lowlevel_notify_inval_inode(g_session, ino, -1, 0);
    fi->fh = reinterpret_cast<std::uint64_t>(g_open_files.open(ino));
    fuse_reply_open(req, fi);
  });
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
               fuse_file_info* fi) {
  guarded(req, [&] {
    const fuse_ctx* ctx = fuse_req_ctx(req);
    Attr a = g_client->create(parent, name, S_IFREG | (mode & 07777 & ~ctx->umask), ctx->uid,
                              ctx->gid, (fi->flags & O_EXCL) != 0);
    fuse_entry_param e{};
    e.ino = a.ino;
    e.attr = to_stat(a);
    e.attr_timeout = kTimeout;
    e.entry_timeout = kTimeout;
    fi->fh = reinterpret_cast<std::uint64_t>(g_open_files.open(a.ino));
    fuse_reply_create(req, &e, fi);
  });
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  guarded(req, [&] {
    g_open_files.flush(ino);  // other handles' buffered writes
    std::string data = handle(fi)->read(static_cast<std::uint64_t>(off), size);
    fuse_reply_buf(req, data.data(), data.size());
  });
}

void op_write(fuse_req_t req, fuse_ino_t, const char* buf, size_t size, off_t off,
              fuse_file_info* fi) {
  guarded(req, [&] {
    handle(fi)->write(static_cast<std::uint64_t>(off), std::string_view(buf, size));
    fuse_reply_write(req, size);
  });
}

void op_fsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info* fi) {
  guarded(req, [&] {
    handle(fi)->fsync();
    fuse_reply_err(req, 0);
  });
}

// close(2): buffered writes go out now, so their errors reach the caller.
void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  guarded(req, [&] {
    handle(fi)->flush();
    fuse_reply_err(req, 0);
  });
}

void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  guarded(req, [&] {
    g_open_files.close(handle(fi));
    fuse_reply_err(req, 0);
  });
}

// A directory handle holds the listing taken at opendir, so that offsets
// stay stable while the kernel reads it in pieces.
struct Listing {
  std::vector<kapok::DirEntry> entries;
};

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  guarded(req, [&] {
    Attr dir = g_client->getattr(ino);
    if (!dir.is_dir()) throw kapok::Error(ENOTDIR, "not a directory");
    auto listing = std::make_unique<Listing>();
    listing->entries.push_back({".", ino, S_IFDIR});
    listing->entries.push_back({"..", ino, S_IFDIR});
    for (auto& e : g_client->readdir(ino)) listing->entries.push_back(std::move(e));
    fi->fh = reinterpret_cast<std::uint64_t>(listing.release());
    fuse_reply_open(req, fi);
  });
}

void op_readdir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  auto* listing = reinterpret_cast<Listing*>(fi->fh);
  std::string buffer(size, '\0');
  std::size_t used = 0;
  for (std::size_t i = static_cast<std::size_t>(off); i < listing->entries.size(); ++i) {
    const auto& e = listing->entries[i];
    struct stat st {};
    st.st_ino = e.ino;
    st.st_mode = e.mode;
    std::size_t n = fuse_add_direntry(req, buffer.data() + used, size - used, e.name.c_str(), &st,
                                      static_cast<off_t>(i + 1));
    if (n > size - used) break;
    used += n;
  }
  fuse_reply_buf(req, buffer.data(), used);
}

void op_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  delete reinterpret_cast<Listing*>(
      fi->fh);  // NOLINT: ownership came back from the kernel's handle
  fuse_reply_err(req, 0);
}

void op_statfs(fuse_req_t req, fuse_ino_t) {
  guarded(req, [&] {
    struct statvfs st {};
    kapok::Usage u = g_client->usage();
    st.f_bsize = st.f_frsize = 4096;
    st.f_blocks = u.bytes_total / 4096;
    st.f_bfree = st.f_bavail = u.bytes_free / 4096;
    st.f_files = u.keys + u.groups_free * 4096;  // metadata records that still fit, roughly
    st.f_ffree = st.f_favail = u.groups_free * 4096;
    st.f_namemax = 255;
    fuse_reply_statfs(req, &st);
  });
}

}  // namespace

int main(int argc, char** argv) {
  log::set_program_name("kapok-fuse");
  kapok::ClientOptions servers;
  std::string mountpoint, options;
  std::vector<std::string> mount_option_lists;
  bool foreground = false;
  CLI::App app{kDescription, "kapok-fuse"};
  servers.add_to(app);
  app.add_option("-o", mount_option_lists, "mount options, comma-separated (repeatable)")
      ->allow_extra_args(false);
  app.add_flag("-f", foreground, "stay in the foreground");
  app.add_option("mountpoint", mountpoint, "where to mount")->required();
  try {
    converge::cli::parse(app, argc, argv);
  } catch (const CLI::ParseError& e) {
    return converge::cli::exit_code(e);
  }
  for (const auto& list : mount_option_lists) options += "," + list;
  std::unique_ptr<Client> client;
  try {
    client = std::make_unique<Client>(servers.members(), servers.settings());
    client->getattr(kapok::kRootIno);  // fail now, not at the first ls, if servers are unreachable
  } catch (const std::exception& e) {
    log::error("{}", e.what());
    return 1;
  }
  g_client = client.get();

  fuse_lowlevel_ops ops{};
  ops.lookup = op_lookup;
  ops.getattr = op_getattr;
  ops.setattr = op_setattr;
  ops.readlink = op_readlink;
  ops.mknod = op_mknod;
  ops.mkdir = op_mkdir;
  ops.symlink = op_symlink;
  ops.unlink = op_unlink;
  ops.rmdir = op_rmdir;
  ops.rename = op_rename;
  ops.link = op_link;
  ops.open = op_open;
  ops.create = op_create;
  ops.read = op_read;
  ops.write = op_write;
  ops.flush = op_flush;
  ops.release = op_release;
  ops.fsync = op_fsync;
  ops.opendir = op_opendir;
  ops.readdir = op_readdir;
  ops.releasedir = op_releasedir;
  ops.statfs = op_statfs;

  // A job's mount belongs to the job's user and is private to it (the kernel
  // lets no other user in, not even root); a mount made by root, such as an
  // admin's kapok-local instance, is shared and the kernel checks each
  // caller against the file's mode. Other sharing is the site's choice, with
  // -o allow_other (and user_allow_other in /etc/fuse.conf).
  std::string mount_options = "default_permissions,nosuid,nodev,fsname=kapok,subtype=kapok" +
                              std::string(geteuid() == 0 ? ",allow_other" : "") + options;
  std::vector<std::string> arg_strings{argv[0], "-o", mount_options};
  std::vector<char*> fuse_argv;
  fuse_argv.reserve(arg_strings.size());
  for (auto& s : arg_strings) fuse_argv.push_back(s.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(fuse_argv.size()), fuse_argv.data());
  fuse_session* session = fuse_session_new(&args, &ops, sizeof ops, nullptr);
  g_session = session;
  if (!session) {
    log::error("cannot create the FUSE session");
    return 1;
  }
  int rc = 1;
  if (fuse_set_signal_handlers(session) == 0) {
    if (fuse_session_mount(session, mountpoint.c_str()) == 0) {
      if (fuse_daemonize(foreground ? 1 : 0) == 0) {
        log::info("mounted at {}", mountpoint);
        fuse_loop_config config{};
        config.clone_fd = 0;
        config.max_idle_threads = 8;
        rc = fuse_session_loop_mt(session, &config) == 0 ? 0 : 1;
      }
      fuse_session_unmount(session);
    } else {
      log::error("cannot mount at {}", mountpoint);
    }
    fuse_remove_signal_handlers(session);
  }
  g_session = nullptr;
  fuse_session_destroy(session);
  fuse_opt_free_args(&args);
  return rc;
}
