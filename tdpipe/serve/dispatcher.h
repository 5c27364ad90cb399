// SPDX-License-Identifier: GPL-2.0-or-later
//
// tdpipe-dispatch: one endpoint in front of several tdpipe-serve
// instances. Each completion goes to the instance with the fewest
// requests outstanding (ties in turn); streamed completions are relayed
// event by event. An instance that cannot be reached is skipped for a few
// seconds and the request tried on the next one; 503 if none is up.
#pragma once

#include "tdpipe/serve/listener.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tdpipe {

// A HOST:PORT to listen on or connect to.
struct Address {
  std::string host;
  int port = 0;
  std::string to_string() const { return host + ":" + std::to_string(port); }
};

// "host:port" -> address; throws std::invalid_argument.
Address parse_address(const std::string& text);

class Dispatcher {
 public:
  Dispatcher(const std::vector<Address>& backends, const ListenerLimits& limits);
  ~Dispatcher();
  // Clients must send the key, and the dispatcher sends it to the instances.
  void use_api_key(const std::string& key);

  int bind(const std::string& host, int port);
  void serve();
  void stop();
  // Refuses new completions (503) from now on.
  void drain() { draining_ = true; }
  int outstanding() const;

  struct Backend {
    Address address;
    std::atomic<int> outstanding{0};
    std::atomic<std::int64_t> down_until_ms{0};
    std::atomic<std::uint64_t> served{0}, errors{0};
  };

 private:
  Backend* pick();
  void routes();

  std::vector<std::unique_ptr<Backend>> backends_;
  std::unique_ptr<Listener> listener_;
  std::atomic<std::size_t> turn_{0};
  std::atomic<bool> draining_{false};
  std::string api_key_;  // empty: none
};

}  // namespace tdpipe
