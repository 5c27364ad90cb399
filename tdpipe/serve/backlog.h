// SPDX-License-Identifier: GPL-2.0-or-later
//
// cpp-httplib (0.11) listens with a backlog of 5 connections: with dozens
// of clients connecting at once, the kernel drops the rest of their
// handshakes and some clients see their connection reset. This remembers
// the listening socket as httplib creates it and lists it again with the
// system's largest backlog once bound.
#pragma once

#include <httplib.h>
#include <sys/socket.h>

namespace tdpipe {

class WideBacklog {
 public:
  // Call before binding `server`.
  explicit WideBacklog(httplib::Server& server) {
    server.set_socket_options([this](socket_t socket) {
      int yes = 1;  // what httplib does by default
      setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
      socket_ = socket;
    });
  }
  // Call once bound.
  void widen() const {
    if (socket_ >= 0) ::listen(socket_, SOMAXCONN);
  }

 private:
  socket_t socket_ = -1;
};

}  // namespace tdpipe
