// SPDX-License-Identifier: GPL-2.0-or-later
//
// kapok-server: a Kapok metadata server (mds), data server (ds), or both.
#include "kapok/common/settings.h"
#include "converge/cli.h"
#include "converge/log.h"
#include "converge/stop_signals.h"
#include "kapok/daemon/chunk_service.h"
#include "kapok/daemon/namespace_service.h"

#include <fmt/format.h>
#include <signal.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>

namespace {

namespace log = converge::log;
using converge::rpc::Endpoint;

constexpr const char* kAbout =
    R"(Serves Kapok metadata (mds: inodes and directories on a flat key-value
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
  CLI::App app{"A Kapok metadata and/or data server", "kapok-server"};
  app.footer(kAbout);
  app.add_option("--role", a.role, "mds, ds or both")
      ->required()
      ->check(CLI::IsMember({"mds", "ds", "both"}));
  app.add_option("--data", a.data, "the server's data directory")->required();
  app.add_option("--listen", a.listen, "HOST:PORT, as the members file names it")->required();
  app.add_option("--members", a.members, "the members file")->required();
  app.add_option("--config", a.config, "converge.json with a \"kapok\" section");
  converge::cli::parse(app, argc, argv);
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
  converge::StopSignals stop;  // before any thread starts
  signal(SIGPIPE, SIG_IGN);
  try {
    Arguments args;
    try {
      args = parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return converge::cli::exit_code(e);
    }
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

    converge::rpc::Server server(converge::rpc::default_auth(),
                                 converge::rpc::ServerLimits::load(args.config));
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
    int signal_number = stop.wait();
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
