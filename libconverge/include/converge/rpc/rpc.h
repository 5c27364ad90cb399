// SPDX-License-Identifier: GPL-2.0-or-later
//
// The one RPC layer of Converge's services: request/reply over TCP.
//
// A frame is   u32 length | u64 request id | u32 method | i32 status | body,
// length counting what follows it. Status is 0 or a POSIX errno, so file
// system servers answer in the errno their clients return. Servers run one
// thread per connection and survive malformed or unknown requests; clients
// keep a pool of connections per server and never wait past their deadline.
#pragma once

#include "converge/mutex.h"
#include "converge/rpc/wire.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace converge::rpc {

// An error with a POSIX errno: thrown by handlers to reply with that status,
// and by clients when the server replied so or could not be reached.
class Error : public std::runtime_error {
 public:
  Error(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;

  static Endpoint parse(std::string_view text);  // "host:port"; throws std::invalid_argument
  std::string to_string() const;
  bool operator==(const Endpoint&) const = default;
};

inline constexpr std::uint32_t kMaxFrame = 64u << 20;

class Server {
 public:
  // Reads the request body, writes the reply body; throw rpc::Error to fail.
  using Handler = std::function<void(wire::Reader& request, wire::Writer& reply)>;

  Server();
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void handle(std::uint32_t method, Handler handler);  // before start()
  // Binds and starts serving; port 0 picks a free port (see port()).
  void start(const std::string& host, std::uint16_t port);
  void stop();  // closes every connection and joins the threads
  std::uint16_t port() const { return port_; }

 private:
  void accept_loop();
  void serve(int fd);
  void reap_finished() CONVERGE_REQUIRES(mutex_);
  std::string dispatch(std::uint32_t method, std::string_view body, std::int32_t& status);

  std::unordered_map<std::uint32_t, Handler> handlers_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  Mutex mutex_;
  std::list<int> connections_ CONVERGE_GUARDED_BY(mutex_);
  std::list<std::thread> workers_ CONVERGE_GUARDED_BY(mutex_);
  std::vector<std::thread::id> finished_ CONVERGE_GUARDED_BY(mutex_);
};

class Client {
 public:
  // `timeout` bounds every call: connecting, sending and waiting for the reply.
  Client(Endpoint endpoint, std::chrono::milliseconds timeout);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Returns the reply body. Throws rpc::Error: the server's status, or
  // ETIMEDOUT when the server cannot be reached or does not answer in time,
  // or EIO when the connection broke after the request was sent.
  std::string call(std::uint32_t method, std::string_view body);

  const Endpoint& endpoint() const { return endpoint_; }

 private:
  int connect_until(std::chrono::steady_clock::time_point deadline);
  void release(int fd);

  Endpoint endpoint_;
  std::chrono::milliseconds timeout_;
  std::atomic<std::uint64_t> next_id_{1};
  Mutex mutex_;
  std::vector<int> idle_ CONVERGE_GUARDED_BY(mutex_);  // pooled connections
};

}  // namespace converge::rpc
