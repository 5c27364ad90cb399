// SPDX-License-Identifier: GPL-2.0-or-later
//
// The listening side both HTTP programs share: an httplib server with a
// pool of connection threads, bound with a backlog wide enough for many
// clients at once. (cpp-httplib 0.11 listens with a backlog of 5: with
// dozens of clients connecting together, the kernel drops the rest of
// their handshakes and some clients see their connection reset. The
// listening socket is remembered as httplib creates it and listed again
// with the system's largest backlog once bound.)
//
// Inside a Converge job it also answers the launcher's readiness proof
// (converge/rpc/ready_proof.h), so a squatter on its port never looks ready.
#pragma once

#include <memory>
#include <string>

namespace httplib {
class Server;
}

namespace tdpipe {

class Listener {
 public:
  explicit Listener(int threads);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  httplib::Server& server() { return *server_; }
  // Binds (port 0: any free port) and returns the port; throws
  // std::runtime_error if it cannot.
  int bind(const std::string& host, int port);
  void serve();  // until stop()
  void stop();

 private:
  std::unique_ptr<httplib::Server> server_;
  int socket_ = -1;
};

}  // namespace tdpipe
