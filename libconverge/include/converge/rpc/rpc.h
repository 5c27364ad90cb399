// SPDX-License-Identifier: GPL-2.0-or-later
//
// The one RPC layer of Converge's services: request/reply over TCP.
//
// A frame is   u32 length | u64 request id | u32 method | i32 status | body,
// length counting what follows it. Status is 0 or a POSIX errno, so file
// system servers answer in the errno their clients return. Each connection
// is authenticated once, when it opens (auth.h). Servers run one thread per
// connection, read a body only as far as its method allows and as its bytes
// arrive, and survive malformed or unknown requests; clients keep a pool of
// connections per server and never wait past their deadline.
#pragma once

#include "converge/config.h"
#include "converge/mutex.h"
#include "converge/rpc/auth.h"
#include "converge/rpc/error.h"
#include "converge/rpc/wire.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <stdexcept>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace converge::rpc {

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;

  static Endpoint parse(std::string_view text);  // "host:port"; throws std::invalid_argument
  std::string to_string() const;
  bool operator==(const Endpoint&) const = default;
};

inline constexpr std::uint32_t kMaxFrame = 64u << 20;

// What a method requires of its caller. Every connection is authenticated
// (auth.h) as the job's owner or root before any method runs.
enum class Access {
  kOwner,   // the job's owner or root
  kMember,  // one of the job's own services (proved the job's secret)
};

struct MethodOptions {
  Access access = Access::kOwner;
  std::uint32_t max_body = 1u << 20;  // larger requests are refused unread
};

// A server's defences against clients that hold resources without using
// them; configurable as "rpc" in converge.json (docs/configuration.md).
struct ServerLimits {
  std::size_t max_connections = 512;
  std::size_t max_handshaking = 64;  // connections not yet authenticated
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds frame_timeout{30000};  // a frame's first byte to its last
  std::chrono::milliseconds idle_timeout{600000};  // between frames

  // converge.json's "rpc" section over the defaults (config::load_section).
  void apply(const config::Node& section);
  static ServerLimits load(const std::string& config_file);  // empty: the defaults
};

// The peer of the request this thread is serving: valid inside a handler.
const Peer& caller();

class Server {
 public:
  // Reads the request body, writes the reply body; throw rpc::Error to fail.
  using Handler = std::function<void(wire::Reader& request, wire::Writer& reply)>;

  explicit Server(AuthSettings auth = default_auth(), ServerLimits limits = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void handle(std::uint32_t method, Handler handler, MethodOptions options = {});  // before start()
  // Binds and starts serving; port 0 picks a free port (see port()).
  void start(const std::string& host, std::uint16_t port);
  void stop();  // closes every connection and joins the threads
  std::uint16_t port() const { return port_; }

  // Connections refused: failed handshakes and calls without the access
  // their method requires.
  std::uint64_t refused() const { return refused_; }

  // One request as if it came from `peer` over an authenticated connection,
  // with no socket: the reply body, and its status in `status` (for
  // in-process callers such as fuzz targets).
  std::string call_in_process(const Peer& peer, std::uint32_t method, std::string_view body,
                              std::int32_t& status);
  // Serves one connection on `fd` in the calling thread until it ends, then
  // closes it: frames read as a server reads them, after the handshake, or
  // (given `authenticated_as`) as if the handshake had made the peer that.
  // For fuzz targets, over one end of a socketpair; the server need not be
  // started.
  void serve_in_this_thread(int fd, std::optional<Peer> authenticated_as);

 private:
  struct Method {
    Handler handler;
    MethodOptions options;
  };

  void accept_loop();
  void serve(int fd);
  bool handshake(int fd, Peer& peer);
  bool authenticate(int fd, Peer& peer);
  void serve_frames(int fd, const Peer& peer);
  void reap_finished() CONVERGE_REQUIRES(mutex_);
  std::string dispatch(const Peer& peer, std::uint32_t method, std::string_view body,
                       std::int32_t& status);
  std::uint32_t max_body(std::uint32_t method) const;

  AuthSettings auth_;
  ServerLimits limits_;
  std::unordered_map<std::uint32_t, Method> methods_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> refused_{0};
  std::thread acceptor_;
  Mutex mutex_;
  std::list<int> handshaking_ CONVERGE_GUARDED_BY(mutex_);  // oldest first
  std::list<int> connections_ CONVERGE_GUARDED_BY(mutex_);
  std::list<std::thread> workers_ CONVERGE_GUARDED_BY(mutex_);
  std::vector<std::thread::id> finished_ CONVERGE_GUARDED_BY(mutex_);
};

class Client {
 public:
  // `timeout` bounds every call: connecting, authenticating, sending and
  // waiting for the reply.
  Client(Endpoint endpoint, std::chrono::milliseconds timeout, AuthSettings auth = default_auth());
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Returns the reply body. Throws rpc::Error: the server's status, or
  // ETIMEDOUT when the server cannot be reached or does not answer in time,
  // EIO when the connection broke after the request was sent, EACCES when
  // either end refused the other's credentials.
  std::string call(std::uint32_t method, std::string_view body);
  // Opens and authenticates a connection (kept for later calls): proves the
  // server is the expected one without calling anything. Throws as call().
  void connect();

  const Endpoint& endpoint() const { return endpoint_; }

 private:
  int connect_until(std::chrono::steady_clock::time_point deadline);
  void handshake(int fd, std::chrono::steady_clock::time_point deadline);
  void release(int fd);

  Endpoint endpoint_;
  AuthSettings auth_;
  std::chrono::milliseconds timeout_;
  std::atomic<std::uint64_t> next_id_{1};
  Mutex mutex_;
  std::vector<int> idle_ CONVERGE_GUARDED_BY(mutex_);  // pooled connections
};

}  // namespace converge::rpc
