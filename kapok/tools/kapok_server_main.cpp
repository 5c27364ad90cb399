// SPDX-License-Identifier: GPL-2.0-or-later
//
// kapok-server: a Kapok metadata server (mds), data server (ds), or both.
#include "common/settings.h"
#include "converge/log.h"
#include "daemon/chunk_service.h"
#include "daemon/namespace_service.h"

#include <fmt/format.h>
#include <signal.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>

namespace {

namespace log = converge::log;
using converge::rpc::Endpoint;

constexpr const char* kUsage =
    R"(usage: kapok-server --role mds|ds|both --data DIR --listen HOST:PORT --members FILE [--config FILE]

Serves Kapok metadata (mds: inodes and directories on a flat key-value
engine in DIR/metadata.dev) and/or data (ds: file chunks under DIR/chunks).
The members file lists every server: {"mds": ["host:port", ...], "ds": [...]};
this server's index in each list is where --listen appears. Settings come
from the "kapok" section of --config (a converge.json). SIGTERM or SIGINT
stops it cleanly, with every acknowledged change on disk.
)";

struct Arguments {
  std::string role, data, listen, members, config;
};

Arguments parse(int argc, char** argv) {
  Arguments a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (i + 1 >= argc)
      throw std::invalid_argument(fmt::format("{} needs a value (see --help)", arg));
    std::string value = argv[++i];
    if (arg == "--role") {
      a.role = value;
    } else if (arg == "--data") {
      a.data = value;
    } else if (arg == "--listen") {
      a.listen = value;
    } else if (arg == "--members") {
      a.members = value;
    } else if (arg == "--config") {
      a.config = value;
    } else {
      throw std::invalid_argument(fmt::format("unknown argument \"{}\" (see --help)", arg));
    }
  }
  if (a.role != "mds" && a.role != "ds" && a.role != "both") {
    throw std::invalid_argument("--role must be mds, ds or both");
  }
  for (auto [flag, value] :
       {std::pair{"--data", &a.data}, {"--listen", &a.listen}, {"--members", &a.members}}) {
    if (value->empty())
      throw std::invalid_argument(fmt::format("{} is required (see --help)", flag));
  }
  return a;
}

std::optional<std::uint32_t> index_of(const std::vector<Endpoint>& list, const Endpoint& me) {
  for (std::uint32_t i = 0; i < list.size(); ++i) {
    if (list[i] == me) return i;
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  log::set_program_name("kapok-server");
  // Signals are taken synchronously below; every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  try {
    Arguments args = parse(argc, argv);
    kapok::Settings settings = kapok::Settings::load(args.config);
    kapok::Members members = kapok::Members::load(args.members);
    Endpoint me = Endpoint::parse(args.listen);
    bool mds = args.role != "ds", ds = args.role != "mds";
    auto mds_index = index_of(members.mds, me), ds_index = index_of(members.ds, me);
    if (mds && !mds_index)
      throw std::invalid_argument(
          fmt::format("{} is not a metadata server in {}", args.listen, args.members));
    if (ds && !ds_index)
      throw std::invalid_argument(
          fmt::format("{} is not a data server in {}", args.listen, args.members));
    std::filesystem::create_directories(args.data);

    converge::rpc::Server server;
    std::unique_ptr<kapok::NamespaceService> names;
    std::unique_ptr<kapok::ChunkService> chunks;
    if (mds) {
      auto engine = kapok::EngineOptions::from(settings, args.data + "/metadata.dev");
      kapok::NamespaceOptions ns{*mds_index, members.mds,
                                 static_cast<std::uint32_t>(members.ds.size()), settings};
      names = std::make_unique<kapok::NamespaceService>(kapok::MetadataEngine::open(engine), ns);
      names->register_methods(server);
    }
    if (ds) {
      chunks = std::make_unique<kapok::ChunkService>(args.data, *ds_index);
      chunks->register_methods(server);
    }
    server.start(me.host, me.port);
    log::info("serving {} on {} (data in {})", args.role, args.listen, args.data);
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    log::info("{}: stopping", strsignal(signal_number));
    server.stop();
    names.reset();  // flushes and syncs the metadata engine
    chunks.reset();
    log::info("stopped");
    return 0;
  } catch (const converge::config::Error& e) {
    log::error("{}", e.what());
  } catch (const std::exception& e) {
    log::error("{}", e.what());
  }
  return 1;
}
