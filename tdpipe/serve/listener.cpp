// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/serve/listener.h"

#include "converge/rpc/ready_proof.h"

#include <httplib.h>
#include <sys/socket.h>

#include <stdexcept>

namespace tdpipe {

Listener::Listener(int threads) : server_(std::make_unique<httplib::Server>()) {
  // httplib takes ownership of the pool it is handed.
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(std::size_t(threads)); };
  server_->set_socket_options([this](socket_t socket) {
    int yes = 1;  // what httplib does by default
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    socket_ = socket;
  });
  if (auto secret = converge::rpc::JobSecret::from_environment()) {
    server_->Get(converge::rpc::kReadyProofPath,
                 [secret = *secret](const httplib::Request& req, httplib::Response& res) {
                   const std::string nonce = req.get_param_value("nonce");
                   if (nonce.empty() || nonce.size() > 128) {
                     res.status = 400;
                     return;
                   }
                   res.set_content(converge::rpc::ready_proof(secret, nonce) + "\n", "text/plain");
                 });
  }
}

Listener::~Listener() = default;

int Listener::bind(const std::string& host, int port) {
  int bound =
      port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (bound < 0) throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port));
  if (socket_ >= 0) ::listen(socket_, SOMAXCONN);
  return bound;
}

void Listener::serve() {
  server_->listen_after_bind();
}

void Listener::stop() {
  server_->stop();
}

}  // namespace tdpipe
