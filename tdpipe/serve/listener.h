// SPDX-License-Identifier: GPL-2.0-or-later
//
// The listening side both HTTP programs share: httplib's request parsing
// and routing, behind a front of our own that keeps a crowd of clients
// from taking the server away from the well-behaved ones.
//
// One poller thread owns the listening socket and every connection that is
// not being answered: it accepts, reads each request whole into a buffer
// (framing only, http_framing.h) and only then hands the connection to one
// of `threads` answering threads, which never wait on a client's bytes. So
// an idle or slow client costs a buffer, not a thread; connections beyond
// `max_connections` push out the one that has waited longest; requests
// that do not arrive whole within `request_timeout`, and idle keep-alive
// connections after `keep_alive`, are closed; buffered bytes are bounded.
// (cpp-httplib 0.11's own listener queues every accepted socket without
// bound and a silent one holds a thread until its read timeout.)
//
// Inside a Converge job it also answers the launcher's readiness proof
// (converge/rpc/ready_proof.h), so a squatter on its port never looks ready,
// and it listens on the socket the launcher reserved for its port, if any
// (converge/net.h, inherited_listener).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace httplib {
class Server;
}

namespace tdpipe {

struct ListenerLimits {
  int threads = 128;           // requests answered at once (a stream holds one)
  int max_connections = 1024;  // open connections, answered or waiting
  std::size_t max_head_bytes = 16 << 10;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_buffered_bytes = 64 << 20;         // all waiting requests together
  std::chrono::milliseconds request_timeout{10000};  // first byte to whole request
  std::chrono::milliseconds keep_alive{5000};        // idle between requests
  std::chrono::milliseconds write_timeout{30000};    // each write of a response
};

class Listener {
 public:
  explicit Listener(ListenerLimits limits);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  httplib::Server& server();
  // Binds (port 0: any free port) and returns the port; throws
  // std::runtime_error if it cannot.
  int bind(const std::string& host, int port);
  void serve();  // until stop()
  void stop();

  struct Counters {
    std::size_t accepted = 0, answered = 0, pushed_out = 0, timed_out = 0, refused = 0;
  };
  Counters counters() const;

 private:
  class Front;
  std::unique_ptr<Front> front_;
};

}  // namespace tdpipe
