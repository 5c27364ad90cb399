// SPDX-License-Identifier: GPL-2.0-or-later
//
// kapok: the command-line client (status, df, ls, stat, mkdir, put, get, rm,
// rmdir, locate) over libkapok.
#include "kapok/client/client.h"
#include "kapok/client/client_options.h"
#include "converge/cli.h"
#include "converge/log.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>
#include <iostream>

namespace {

namespace log = converge::log;

constexpr const char* kUsage = R"(usage: kapok --members FILE [--config FILE] COMMAND ARGS

  status              every server's state (exit 1 if one is unreachable)
  df                  metadata and data space
  ls PATH             directory listing (name, type, size)
  stat PATH           attributes as JSON
  mkdir PATH          create a directory
  put LOCAL PATH      copy a local file in (then fsync)
  get PATH LOCAL      copy a file out ("-" writes to standard output)
  rm PATH             remove a file or symbolic link
  rmdir PATH          remove an empty directory
  locate PATH         which servers hold the entry, the inode and the data, and
                      how many of the file's bytes each holds (JSON)

The members file lists the servers: {"mds": ["host:port", ...], "ds": [...]}
(kapok-local writes one). Settings come from the "kapok" section of --config.
)";

const char* type_of(std::uint32_t mode) {
  if (S_ISDIR(mode)) return "dir";
  if (S_ISLNK(mode)) return "link";
  return "file";
}

nlohmann::json attr_json(const kapok::Attr& a) {
  return {{"ino", a.ino},
          {"type", type_of(a.mode)},
          {"mode", fmt::format("{:04o}", a.mode & 07777)},
          {"uid", a.uid},
          {"gid", a.gid},
          {"nlink", a.nlink},
          {"size", a.size},
          {"mtime_ns", a.mtime_ns},
          {"inline", a.inline_data && S_ISREG(a.mode)},
          {"symlink", a.symlink}};
}

int run(kapok::Client& client, const std::vector<std::string>& args) {
  const std::string& cmd = args[0];
  auto need = [&](std::size_t n) {
    if (args.size() != n + 1)
      throw std::invalid_argument(fmt::format("{} takes {} argument(s) (see --help)", cmd, n));
  };
  if (cmd == "status") {
    need(0);
    int down = 0;
    for (bool mds : {true, false}) {
      const auto& list = mds ? client.members().mds : client.members().ds;
      for (std::uint32_t i = 0; i < list.size(); ++i) {
        try {
          fmt::print("{:<4} {:<22} up   {}\n", mds ? "mds" : "ds", list[i].to_string(),
                     client.server_status(mds, i));
        } catch (const kapok::Error& e) {
          fmt::print("{:<4} {:<22} DOWN {}\n", mds ? "mds" : "ds", list[i].to_string(), e.what());
          ++down;
        }
      }
    }
    return down ? 1 : 0;
  }
  if (cmd == "df") {
    need(0);
    kapok::Usage u = client.usage();
    fmt::print("metadata: {} keys, {} of {} groups free\n", u.keys, u.groups_free, u.groups_total);
    fmt::print("data:     {} MiB free of {} MiB (sum over data servers)\n", u.bytes_free >> 20,
               u.bytes_total >> 20);
    return 0;
  }
  if (cmd == "ls") {
    need(1);
    kapok::Attr dir = client.stat(args[1]);
    if (!dir.is_dir()) {
      fmt::print("{:<5} {:>12} {}\n", type_of(dir.mode), dir.size, args[1]);
      return 0;
    }
    for (const auto& e : client.readdir(dir.ino)) {
      kapok::Attr a = client.getattr(e.ino);
      fmt::print("{:<5} {:>12} {}\n", type_of(a.mode), a.size, e.name);
    }
    return 0;
  }
  if (cmd == "stat") {
    need(1);
    std::cout << attr_json(client.stat(args[1])).dump(2) << '\n';
    return 0;
  }
  if (cmd == "mkdir") {
    need(1);
    auto [dir, name] = client.parent_of(args[1]);
    client.mkdir(dir, name, 0755, getuid(), getgid());
    return 0;
  }
  if (cmd == "put") {
    need(2);
    std::ifstream in(args[1], std::ios::binary);
    if (!in) throw kapok::Error(errno ? errno : ENOENT, fmt::format("cannot read {}", args[1]));
    auto [dir, name] = client.parent_of(args[2]);
    kapok::Attr attr = client.create(dir, name, S_IFREG | 0644, getuid(), getgid(), false);
    if (attr.size > 0) client.truncate(attr.ino, 0);
    std::string buffer(4u << 20, '\0');
    std::uint64_t offset = 0;
    while (in) {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      std::size_t n = static_cast<std::size_t>(in.gcount());
      if (n == 0) break;
      client.write(attr.ino, offset, std::string_view(buffer).substr(0, n));
      offset += n;
    }
    client.fsync(attr.ino);
    return 0;
  }
  if (cmd == "get") {
    need(2);
    kapok::Attr attr = client.stat(args[1]);
    if (!attr.is_reg()) throw kapok::Error(EISDIR, "not a regular file");
    std::ofstream file;
    if (args[2] != "-") {
      file.open(args[2], std::ios::binary | std::ios::trunc);
      if (!file) throw kapok::Error(errno ? errno : EIO, fmt::format("cannot write {}", args[2]));
    }
    std::ostream& out = args[2] == "-" ? std::cout : file;
    for (std::uint64_t offset = 0; offset < attr.size; offset += 4u << 20) {
      out << client.read(attr.ino, offset, 4u << 20);
    }
    return out ? 0 : 1;
  }
  if (cmd == "rm" || cmd == "rmdir") {
    need(1);
    auto [dir, name] = client.parent_of(args[1]);
    if (cmd == "rm") {
      client.unlink(dir, name);
    } else {
      client.rmdir(dir, name);
    }
    return 0;
  }
  if (cmd == "locate") {
    need(1);
    kapok::Location loc = client.locate(args[1]);
    nlohmann::json j{{"entry", loc.entry_server},
                     {"inode", loc.inode_server},
                     {"inline", loc.inline_data},
                     {"size", loc.size}};
    if (!loc.inline_data) {
      j["stripe_size"] = loc.stripe_size;
      j["data"] = loc.data_servers;
    }
    j["bytes"] = nlohmann::json::array();
    for (const auto& [server, n] : loc.bytes_by_server)
      j["bytes"].push_back({{"server", server}, {"bytes", n}});
    std::cout << j.dump(2) << '\n';
    return 0;
  }
  throw std::invalid_argument(fmt::format("unknown command \"{}\" (see --help)", cmd));
}

}  // namespace

int main(int argc, char** argv) {
  log::set_program_name("kapok");
  kapok::ClientOptions servers;
  std::vector<std::string> args;
  CLI::App app{"Kapok's command-line client", "kapok"};
  app.footer(kUsage);
  servers.add_to(app);
  app.add_option("command", args, "COMMAND ARGS (see below)")->required();
  try {
    converge::cli::parse(app, argc, argv);
  } catch (const CLI::ParseError& e) {
    return converge::cli::exit_code(e);
  }
  try {
    kapok::Client client(servers.members(), servers.settings());
    return run(client, args);
  } catch (const kapok::Error& e) {
    log::error("{}{}: {} ({})", args.empty() ? "" : args[0], args.size() > 1 ? " " + args[1] : "",
               std::strerror(e.code()), e.what());
  } catch (const std::exception& e) {
    log::error("{}", e.what());
  }
  return 1;
}
