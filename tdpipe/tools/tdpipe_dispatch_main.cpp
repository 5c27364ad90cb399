// SPDX-License-Identifier: GPL-2.0-or-later
//
// tdpipe-dispatch: spreads completions over several tdpipe-serve instances.
//   tdpipe-dispatch (--backends HOST:PORT,... | --backends-file FILE [--role instance])
//                   [--listen HOST:PORT] [--port-file FILE] [--threads N]
// A backends file is what converge-launch writes for a service role:
// {"instance": ["host:port", ...]}. SIGTERM or SIGINT drains: new requests
// get 503, the ones in progress finish, then it exits 0.
#include "tdpipe/serve/api_key.h"
#include "tdpipe/serve/dispatcher.h"

#include "converge/cli.h"
#include "converge/stop_signals.h"
#include "converge/log.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <thread>

using namespace tdpipe;

int main(int argc, char** argv) {
  converge::log::set_program_name("tdpipe-dispatch");
  return converge::cli::run("tdpipe-dispatch", [&] {
    CLI::App app{"Spreads completions over several tdpipe-serve instances", "tdpipe-dispatch"};
    std::vector<std::string> backend_list;
    std::string backends_file, role = "instance", listen_at = "127.0.0.1:8080", port_file,
                               api_key_file;
    bool no_api_key = false;
    int threads = 128;
    auto* list_opt = app.add_option("--backends", backend_list, "HOST:PORT,... of the instances")
                         ->delimiter(',');
    auto* file_opt =
        app.add_option("--backends-file", backends_file, "{\"ROLE\": [\"host:port\", ...]}");
    list_opt->excludes(file_opt);
    app.add_option("--role", role, "the role's list in the backends file")->needs(file_opt);
    app.add_option("--listen", listen_at, "HOST:PORT (port 0: any free port)");
    app.add_option("--port-file", port_file, "write the port it listens on to FILE");
    app.add_option("--threads", threads, "requests answered at once")->check(CLI::Range(1, 4096));
    auto* key_opt = app.add_option("--api-key-file", api_key_file,
                                   "the key clients must send and instances get (Authorization: "
                                   "Bearer); default: $TDPIPE_API_KEY or the job's own");
    app.add_flag("--no-api-key", no_api_key, "serve anyone who can connect (a private test)")
        ->excludes(key_opt);
    converge::cli::parse(app, argc, argv);

    std::vector<Address> backends;
    if (!backend_list.empty()) {
      for (const auto& b : backend_list) backends.push_back(parse_address(b));
    } else if (!backends_file.empty()) {
      std::ifstream in(backends_file);
      nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
      if (!in || j.is_discarded() || !j.contains(role) || !j[role].is_array()) {
        throw std::invalid_argument(backends_file + ": expected {\"" + role +
                                    "\": [\"host:port\", ...]}");
      }
      for (const auto& e : j[role]) {
        if (!e.is_string())
          throw std::invalid_argument(backends_file + ": instances are \"host:port\"");
        backends.push_back(parse_address(e.get<std::string>()));
      }
    } else {
      throw std::invalid_argument("no instances: give --backends or --backends-file");
    }
    std::optional<std::string> api_key = server_api_key(api_key_file, no_api_key);
    Address listen = parse_address(listen_at);
    converge::StopSignals stop;

    ListenerLimits limits;
    limits.threads = threads;
    Dispatcher dispatcher(backends, limits);
    if (api_key) dispatcher.use_api_key(*api_key);
    int port = dispatcher.bind(listen.host, listen.port);
    if (!port_file.empty()) std::ofstream(port_file) << port << "\n";
    converge::log::info("{} instance{} behind {}:{}", backends.size(),
                        backends.size() == 1 ? "" : "s", listen.host, port);
    std::thread http([&] { dispatcher.serve(); });
    stop.wait();
    dispatcher.drain();
    while (dispatcher.outstanding() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    dispatcher.stop();
    http.join();
    return 0;
  });
}
