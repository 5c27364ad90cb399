// SPDX-License-Identifier: GPL-2.0-or-later
//
// tdpipe-dispatch: spreads completions over several tdpipe-serve instances.
//   tdpipe-dispatch (--backends HOST:PORT,... | --backends-file FILE [--role instance])
//                   [--listen HOST:PORT] [--port-file FILE] [--threads N]
// A backends file is what converge-launch writes for a service role:
// {"instance": ["host:port", ...]}. SIGTERM or SIGINT drains: new requests
// get 503, the ones in progress finish, then it exits 0.
#include "serve/dispatcher.h"
#include "serve/termination.h"
#include "tools/options.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <thread>

using namespace tdpipe;

int main(int argc, char** argv) {
  try {
    Options o(argc, argv, {"help"});
    if (o.has("help")) {
      std::puts(
          "usage: tdpipe-dispatch (--backends HOST:PORT,... | --backends-file FILE [--role R])\n"
          "                       [--listen HOST:PORT] [--port-file FILE] [--threads N]");
      return 0;
    }
    std::vector<Address> backends;
    if (o.has("backends")) {
      std::string list = o.text("backends");
      for (std::size_t at = 0; at <= list.size();) {
        std::size_t comma = list.find(',', at);
        backends.push_back(parse_address(list.substr(at, comma - at)));
        if (comma == std::string::npos) break;
        at = comma + 1;
      }
    } else {
      const std::string path = o.text("backends-file");
      const std::string role = o.has("role") ? o.text("role") : "instance";
      std::ifstream in(path);
      nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
      if (!in || j.is_discarded() || !j.contains(role) || !j[role].is_array())
        throw std::invalid_argument(path + ": expected {\"" + role + "\": [\"host:port\", ...]}");
      for (const auto& e : j[role]) {
        if (!e.is_string()) throw std::invalid_argument(path + ": instances are \"host:port\"");
        backends.push_back(parse_address(e.get<std::string>()));
      }
    }
    Address listen = parse_address(o.has("listen") ? o.text("listen") : "127.0.0.1:8080");
    block_termination();

    Dispatcher dispatcher(backends, int(o.number("threads", 128, 1, 4096)));
    int port = dispatcher.bind(listen.host, listen.port);
    if (o.has("port-file")) std::ofstream(o.text("port-file")) << port << "\n";
    std::fprintf(stderr, "tdpipe-dispatch: %zu instance%s behind %s:%d\n", backends.size(),
                 backends.size() == 1 ? "" : "s", listen.host.c_str(), port);
    std::thread http([&] { dispatcher.serve(); });
    wait_for_termination();
    dispatcher.drain();
    while (dispatcher.outstanding() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    dispatcher.stop();
    http.join();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tdpipe-dispatch: %s\n", e.what());
    return 1;
  }
  return 0;
}
