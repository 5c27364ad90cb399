// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/rpc/rpc.h"

#include "converge/log.h"
#include "converge/net.h"
#include "converge/rpc/munge.h"
#include "converge/unique_fd.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <system_error>

namespace converge::rpc {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kHeader = 4 + 8 + 4 + 4;

struct Frame {
  std::uint64_t id = 0;
  std::uint32_t method = 0;
  std::int32_t status = 0;
  std::string body;
};

std::string encode(std::uint64_t id, std::uint32_t method, std::int32_t status,
                   std::string_view body) {
  wire::Writer w;
  w.u32(static_cast<std::uint32_t>(kHeader - 4 + body.size()));
  w.u64(id);
  w.u32(method);
  w.u32(static_cast<std::uint32_t>(status));
  w.raw(body);
  return w.take();
}

int remaining_ms(Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

// Waits until fd is ready for `events`; false on timeout. No deadline: waits forever.
bool wait_ready(int fd, short events, const Clock::time_point* deadline) {
  pollfd p{fd, events, 0};
  while (true) {
    int rc = poll(&p, 1, deadline ? remaining_ms(*deadline) : -1);
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return false;
  }
}

// 0 on success, else an errno (ETIMEDOUT when the deadline passed).
int write_all(int fd, std::string_view data, const Clock::time_point* deadline) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_ready(fd, POLLOUT, deadline)) return ETIMEDOUT;
      continue;
    }
    return n < 0 ? errno : EPIPE;
  }
  return 0;
}

int read_exact(int fd, char* out, std::size_t size, const Clock::time_point* deadline) {
  while (size > 0) {
    ssize_t n = recv(fd, out, size, MSG_DONTWAIT);
    if (n > 0) {
      out += n;
      size -= static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0) return ECONNRESET;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_ready(fd, POLLIN, deadline)) return deadline ? ETIMEDOUT : ECONNRESET;
      continue;
    }
    return errno;
  }
  return 0;
}

// The largest body a reader accepts for a method.
using BodyLimit = std::function<std::uint32_t(std::uint32_t method)>;

// Reads one frame. The header must arrive by `deadline`; the body is read
// only when its method allows its length, and grown as its bytes arrive, so
// a header that claims 64 MiB commits no memory by itself.
int read_frame(int fd, Frame& frame, const Clock::time_point* deadline, const BodyLimit& limit) {
  char header[kHeader];
  if (int rc = read_exact(fd, header, kHeader, deadline)) return rc;
  wire::Reader r(std::string_view(header, kHeader));
  std::uint32_t length = r.u32();
  frame.id = r.u64();
  frame.method = r.u32();
  frame.status = static_cast<std::int32_t>(r.u32());
  if (length < kHeader - 4) return EPROTO;
  std::size_t size = length - (kHeader - 4);
  if (size > limit(frame.method)) return EMSGSIZE;
  constexpr std::size_t kStep = 1u << 20;
  frame.body.clear();
  while (frame.body.size() < size) {
    std::size_t got = frame.body.size();
    std::size_t step = std::min(kStep, size - got);
    frame.body.resize(got + step);
    if (int rc = read_exact(fd, frame.body.data() + got, step, deadline)) return rc;
  }
  return 0;
}

int read_frame(int fd, Frame& frame, const Clock::time_point* deadline, std::uint32_t max_body) {
  return read_frame(fd, frame, deadline, [max_body](std::uint32_t) { return max_body; });
}

// The handshake (auth.h): two reserved method numbers, no service uses them.
constexpr std::uint32_t kHello = 0xffffff01, kAuth = 0xffffff02;
constexpr std::uint8_t kAuthVersion = 1;
constexpr std::size_t kNonce = 32;
constexpr std::uint32_t kMaxHandshake = 16u << 10;

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(out.data() + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw Error(errno, fmt::format("getrandom: {}", std::strerror(errno)));
    got += static_cast<std::size_t>(r);
  }
  return out;
}

std::string address_text(const sockaddr_in& a) {
  char host[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a.sin_addr, host, sizeof host);
  return fmt::format("{}:{}", host, ntohs(a.sin_port));
}

// The connection as "client-address server-address", seen from either end:
// a credential made for one TCP connection is refused on any other, so a
// server cannot relay its clients' credentials to another.
std::string connection_name(int fd, bool server_side) {
  sockaddr_in local{}, remote{};
  socklen_t local_len = sizeof local, remote_len = sizeof remote;
  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len);
  getpeername(fd, reinterpret_cast<sockaddr*>(&remote), &remote_len);
  return server_side ? address_text(remote) + " " + address_text(local)
                     : address_text(local) + " " + address_text(remote);
}

// What each side's credential and proof cover.
std::string transcript(std::string_view side, std::string_view connection,
                       std::string_view server_nonce, std::string_view client_nonce) {
  std::string t = fmt::format("converge-rpc/{} {} {} ", kAuthVersion, side, connection);
  t.append(server_nonce).append(client_nonce);
  return t;
}

thread_local const Peer* current_peer = nullptr;

void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

sockaddr_in resolve(const Endpoint& e) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(e.port);
  if (inet_pton(AF_INET, e.host.c_str(), &addr.sin_addr) == 1) return addr;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  addrinfo* result = nullptr;
  if (getaddrinfo(e.host.c_str(), nullptr, &hints, &result) != 0 || !result) {
    throw Error(EHOSTUNREACH, fmt::format("cannot resolve {}", e.host));
  }
  addr.sin_addr = reinterpret_cast<sockaddr_in*>(result->ai_addr)->sin_addr;
  freeaddrinfo(result);
  return addr;
}

}  // namespace

Endpoint Endpoint::parse(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    throw std::invalid_argument(fmt::format("bad endpoint \"{}\": expected HOST:PORT", text));
  }
  unsigned port = 0;
  auto digits = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc() || end != digits.data() + digits.size() || port == 0 || port > 65535) {
    throw std::invalid_argument(fmt::format("bad port in endpoint \"{}\"", text));
  }
  return Endpoint{std::string(text.substr(0, colon)), static_cast<std::uint16_t>(port)};
}

std::string Endpoint::to_string() const {
  return fmt::format("{}:{}", host, port);
}

// ---- server ----

void ServerLimits::apply(const config::Node& section) {
  section.allow_only({"max_connections", "max_handshaking", "handshake_timeout_ms",
                      "frame_timeout_ms", "idle_timeout_ms"});
  if (auto v = section.find("max_connections"))
    max_connections = static_cast<std::size_t>(v->as_int(1, 1 << 20));
  if (auto v = section.find("max_handshaking"))
    max_handshaking = static_cast<std::size_t>(v->as_int(1, 1 << 20));
  if (auto v = section.find("handshake_timeout_ms"))
    handshake_timeout = std::chrono::milliseconds(v->as_int(100, 600'000));
  if (auto v = section.find("frame_timeout_ms"))
    frame_timeout = std::chrono::milliseconds(v->as_int(100, 3'600'000));
  if (auto v = section.find("idle_timeout_ms"))
    idle_timeout = std::chrono::milliseconds(v->as_int(1000, 86'400'000));
}

ServerLimits ServerLimits::load(const std::string& config_file) {
  return config::load_section<ServerLimits>(config_file, "rpc");
}

const Peer& caller() {
  if (!current_peer) throw std::logic_error("rpc::caller() outside a request handler");
  return *current_peer;
}

Server::Server(AuthSettings auth, ServerLimits limits) : auth_(auth), limits_(limits) {}

Server::~Server() {
  stop();
}

void Server::handle(std::uint32_t method, Handler handler, MethodOptions options) {
  methods_[method] = Method{std::move(handler), options};
}

std::uint32_t Server::max_body(std::uint32_t method) const {
  auto it = methods_.find(method);
  return it == methods_.end() ? 0 : it->second.options.max_body;
}

void Server::start(const std::string& host, std::uint16_t port) {
  // The port the launcher reserved for this service, or a socket of our own.
  UniqueFd listening = port != 0 ? net::take_inherited_listener(port) : UniqueFd();
  if (!listening) {
    try {
      listening = net::listen_tcp(host, port);
    } catch (const std::system_error& e) {
      throw Error(e.code().value(), e.what());
    }
  }
  port_ = net::local_port(listening.get());
  listen_fd_ = listening.release();
  acceptor_ = std::thread([this] { accept_loop(); });
}

void Server::accept_loop() {
  while (!stopping_) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (stopping_) return;
      if (errno == EMFILE || errno == ENFILE) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // let connections close
        continue;
      }
      return;
    }
    set_nodelay(fd);
    MutexLock lock(mutex_);
    reap_finished();
    if (stopping_) {
      close(fd);
      return;
    }
    // Full: hang up at once rather than queue (a client retries, an idle
    // crowd of unauthenticated sockets cannot grow without bound).
    if (connections_.size() >= limits_.max_connections) {
      close(fd);
      continue;
    }
    // Too many still in their handshake: the oldest makes room. A crowd of
    // slow or idle sockets is then always the first to go, and cannot keep
    // a real client, whose handshake takes a millisecond, from getting in.
    if (handshaking_.size() >= limits_.max_handshaking) {
      shutdown(handshaking_.front(), SHUT_RDWR);
      handshaking_.pop_front();
    }
    handshaking_.push_back(fd);
    connections_.push_back(fd);
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

bool Server::authenticate(int fd, Peer& peer) {
  auto deadline = Clock::now() + limits_.handshake_timeout;
  std::string server_nonce = random_bytes(kNonce);
  wire::Writer hello;
  hello.u8(kAuthVersion);
  hello.bytes(server_nonce);
  if (write_all(fd, encode(0, kHello, 0, hello.data()), &deadline) != 0) return false;
  Frame request;
  if (read_frame(fd, request, &deadline, kMaxHandshake) != 0) {
    ++refused_;
    return false;
  }
  auto refuse = [&](int code, const std::string& why) {
    ++refused_;
    write_all(fd, encode(request.id, kAuth, code, why), &deadline);
    return false;
  };
  if (request.method != kAuth) return refuse(EACCES, "authenticate first (see docs/security.md)");
  try {
    wire::Reader in(request.body);
    std::string credential = in.string();
    std::string client_nonce = in.string();
    std::string proof = in.string();
    in.expect_end();
    if (client_nonce.size() != kNonce) return refuse(EBADMSG, "malformed handshake");
    std::string connection = connection_name(fd, true);
    MungeIdentity id = munge_decode(credential);
    if (id.payload != transcript("client", connection, server_nonce, client_nonce))
      return refuse(EACCES, "credential made for another connection");
    if (id.uid != auth_.owner && id.uid != 0)
      return refuse(EACCES, fmt::format("uid {} may not use the services of uid {}'s job", id.uid,
                                        auth_.owner));
    peer = Peer{id.uid, id.gid, false};
    std::string server_proof;
    if (!proof.empty()) {
      auto proved = transcript("client", connection, server_nonce, client_nonce);
      if (!auth_.secret || !auth_.secret->verify("client", proved, proof))
        return refuse(EACCES, "not a member of this job's services (wrong job secret)");
      peer.member = true;
      server_proof = auth_.secret->prove(
          "server", transcript("server", connection, server_nonce, client_nonce));
    }
    wire::Writer reply;
    reply.bytes(munge_encode(transcript("server", connection, server_nonce, client_nonce)));
    reply.bytes(server_proof);
    return write_all(fd, encode(request.id, kAuth, 0, reply.data()), &deadline) == 0;
  } catch (const Error& e) {
    return refuse(e.code(), e.what());
  } catch (const wire::Error&) {
    return refuse(EBADMSG, "malformed handshake");
  }
}

std::string Server::call_in_process(const Peer& peer, std::uint32_t method, std::string_view body,
                                    std::int32_t& status) {
  if (body.size() > max_body(method)) {
    status = EMSGSIZE;
    return fmt::format("request too large for method {}", method);
  }
  const Peer* outer = std::exchange(current_peer, &peer);
  std::string reply = dispatch(peer, method, body, status);
  current_peer = outer;
  return reply;
}

std::string Server::dispatch(const Peer& peer, std::uint32_t method, std::string_view body,
                             std::int32_t& status) {
  auto it = methods_.find(method);
  if (it == methods_.end()) {
    status = ENOSYS;
    return fmt::format("unknown method {}", method);
  }
  if (it->second.options.access == Access::kMember && !peer.member) {
    ++refused_;
    status = EACCES;
    return fmt::format("method {} is only for the job's own services", method);
  }
  wire::Reader request(body);
  wire::Writer reply;
  try {
    it->second.handler(request, reply);
    status = 0;
    return reply.take();
  } catch (const Error& e) {
    status = e.code() ? e.code() : EIO;
    return e.what();
  } catch (const wire::Error& e) {
    status = EBADMSG;
    return fmt::format("malformed request: {}", e.what());
  } catch (const std::bad_alloc&) {
    status = ENOMEM;
    return "out of memory";
  } catch (const std::exception& e) {
    status = EIO;
    return e.what();
  }
}

bool Server::handshake(int fd, Peer& peer) {
  bool authenticated = false;
  try {
    authenticated = authenticate(fd, peer);
  } catch (const std::exception& e) {  // getrandom or munged failed on our side
    log::warning("rpc: handshake failed: {}", e.what());
  }
  // Before the descriptor can be closed and its number reused: no
  // eviction may shut down a later connection's socket.
  MutexLock lock(mutex_);
  handshaking_.remove(fd);
  return authenticated;
}

void Server::serve_frames(int fd, const Peer& peer) {
  current_peer = &peer;
  BodyLimit limit = [this](std::uint32_t method) { return max_body(method); };
  Frame frame;
  while (!stopping_) {
    // Idle between frames up to idle_timeout; a frame, once begun, must
    // arrive whole within frame_timeout.
    auto idle_deadline = Clock::now() + limits_.idle_timeout;
    if (!wait_ready(fd, POLLIN, &idle_deadline)) break;
    auto frame_deadline = Clock::now() + limits_.frame_timeout;
    int rc = read_frame(fd, frame, &frame_deadline, limit);
    if (rc == EMSGSIZE) {
      std::string why = fmt::format("request too large for method {}", frame.method);
      write_all(fd, encode(frame.id, frame.method, EMSGSIZE, why), &frame_deadline);
      break;  // the unread body is still on the socket: the connection is unusable
    }
    if (rc != 0) break;  // closed, reset, timed out or garbage: drop the connection
    std::int32_t status = 0;
    std::string reply = dispatch(peer, frame.method, frame.body, status);
    auto write_deadline = Clock::now() + limits_.frame_timeout;
    if (write_all(fd, encode(frame.id, frame.method, status, reply), &write_deadline) != 0) break;
  }
  current_peer = nullptr;
}

void Server::serve(int fd) {
  Peer peer;
  if (handshake(fd, peer)) serve_frames(fd, peer);
  MutexLock lock(mutex_);
  connections_.remove(fd);
  close(fd);
  finished_.push_back(std::this_thread::get_id());
}

void Server::serve_in_this_thread(int fd, std::optional<Peer> authenticated_as) {
  Peer peer = authenticated_as.value_or(Peer{});
  if (authenticated_as || handshake(fd, peer)) serve_frames(fd, peer);
  close(fd);
}

void Server::reap_finished() {
  // Threads whose connection ended: they only have to return, join them.
  for (auto id : finished_) {
    for (auto it = workers_.begin(); it != workers_.end(); ++it) {
      if (it->get_id() == id) {
        it->join();
        workers_.erase(it);
        break;
      }
    }
  }
  finished_.clear();
}

void Server::stop() {
  if (listen_fd_ < 0) return;
  stopping_ = true;
  shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  close(listen_fd_);
  listen_fd_ = -1;
  std::list<std::thread> workers;
  {
    MutexLock lock(mutex_);
    for (int fd : connections_) shutdown(fd, SHUT_RDWR);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
}

// ---- client ----

Client::Client(Endpoint endpoint, std::chrono::milliseconds timeout, AuthSettings auth)
    : endpoint_(std::move(endpoint)), auth_(auth), timeout_(timeout) {}

Client::~Client() {
  for (int fd : idle_) close(fd);
}

int Client::connect_until(Clock::time_point deadline) {
  sockaddr_in addr = resolve(endpoint_);
  auto backoff = std::chrono::milliseconds(5);
  while (true) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) throw Error(errno, fmt::format("socket: {}", std::strerror(errno)));
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    if (rc != 0 && errno == EINPROGRESS && wait_ready(fd, POLLOUT, &deadline)) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      rc = err ? -1 : 0;
      errno = err;
    } else if (rc != 0 && errno == EINPROGRESS) {
      errno = ETIMEDOUT;  // no answer before the deadline (a host or link down)
    }
    int err = errno;
    if (rc == 0) {
      set_nodelay(fd);
      try {
        handshake(fd, deadline);
        return fd;
      } catch (const Error& e) {
        if (e.code() != EAGAIN) {
          close(fd);
          throw;
        }
        err = ECONNRESET;
      } catch (...) {
        close(fd);
        throw;
      }
    }
    close(fd);
    // The server may be restarting: retry until the deadline, then give up.
    if (Clock::now() + backoff >= deadline) {
      throw Error(ETIMEDOUT, fmt::format("{} unreachable for {} ms: {}", endpoint_.to_string(),
                                         timeout_.count(), std::strerror(err ? err : ETIMEDOUT)));
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(200));
  }
}

void Client::handshake(int fd, Clock::time_point deadline) {
  Frame hello;
  int rc = read_frame(fd, hello, &deadline, kMaxHandshake);
  if (rc == ETIMEDOUT) {
    throw Error(ETIMEDOUT, fmt::format("{} did not greet within {} ms", endpoint_.to_string(),
                                       timeout_.count()));
  }
  if (rc != 0 && rc != EPROTO && rc != EMSGSIZE) {
    // Hung up before a word: a full server (connect_until tries again).
    throw Error(EAGAIN, fmt::format("{} hung up before its greeting", endpoint_.to_string()));
  }
  if (rc != 0 || hello.method != kHello)
    throw Error(EPROTO, fmt::format("{} is not a Converge service", endpoint_.to_string()));
  std::string server_nonce;
  try {
    wire::Reader in(hello.body);
    if (in.u8() != kAuthVersion) throw wire::Error("version");
    server_nonce = in.string();
  } catch (const wire::Error&) {
    throw Error(EPROTO, fmt::format("{}: unknown handshake", endpoint_.to_string()));
  }
  std::string client_nonce = random_bytes(kNonce);
  std::string connection = connection_name(fd, false);
  std::string mine = transcript("client", connection, server_nonce, client_nonce);
  std::string theirs = transcript("server", connection, server_nonce, client_nonce);
  wire::Writer request;
  request.bytes(munge_encode(mine));
  request.bytes(client_nonce);
  request.bytes(auth_.secret ? auth_.secret->prove("client", mine) : std::string());
  if (write_all(fd, encode(1, kAuth, 0, request.data()), &deadline) != 0)
    throw Error(ETIMEDOUT, fmt::format("{} hung up in the handshake", endpoint_.to_string()));
  Frame reply;
  rc = read_frame(fd, reply, &deadline, kMaxHandshake);
  if (rc != 0)
    throw Error(rc == ETIMEDOUT ? ETIMEDOUT : EIO,
                fmt::format("{} hung up in the handshake", endpoint_.to_string()));
  if (reply.status != 0) {
    throw Error(reply.status,
                fmt::format("{} refused the connection: {}", endpoint_.to_string(), reply.body));
  }
  // The server proves in turn who runs it and, to a member, that it is one.
  try {
    wire::Reader in(reply.body);
    MungeIdentity id = munge_decode(in.string());
    std::string proof = in.string();
    if (id.payload != theirs) throw Error(EACCES, "its credential is for another connection");
    if (auth_.owner != 0 && id.uid != auth_.owner && id.uid != 0)
      throw Error(EACCES, fmt::format("it runs as uid {}, not {}", id.uid, auth_.owner));
    if (auth_.secret && !auth_.secret->verify("server", theirs, proof))
      throw Error(EACCES, "it does not hold this job's secret");
  } catch (const Error& e) {
    throw Error(EACCES,
                fmt::format("{} is not this job's service: {}", endpoint_.to_string(), e.what()));
  } catch (const wire::Error&) {
    throw Error(EPROTO, fmt::format("{}: malformed handshake reply", endpoint_.to_string()));
  }
}

void Client::connect() {
  release(connect_until(Clock::now() + timeout_));
}

void Client::release(int fd) {
  MutexLock lock(mutex_);
  idle_.push_back(fd);
}

std::string Client::call(std::uint32_t method, std::string_view body) {
  auto deadline = Clock::now() + timeout_;
  std::uint64_t id = next_id_++;
  std::string request = encode(id, method, 0, body);
  // Pooled connections may have been closed by a server that restarted or
  // died: when one fails, all idle ones go and the call is retried on a new
  // connection, whose own failure is the answer.
  while (true) {
    int fd = -1;
    bool pooled = false;
    {
      MutexLock lock(mutex_);
      if (!idle_.empty()) {
        fd = idle_.back();
        idle_.pop_back();
        pooled = true;
      }
    }
    if (fd < 0) fd = connect_until(deadline);
    int rc = write_all(fd, request, &deadline);
    Frame reply;
    if (rc == 0) rc = read_frame(fd, reply, &deadline, kMaxFrame);
    if (rc == 0 && reply.id != id) rc = EPROTO;
    if (rc != 0) {
      close(fd);
      if (pooled && rc != ETIMEDOUT) {
        MutexLock lock(mutex_);
        for (int stale : idle_) close(stale);
        idle_.clear();
        continue;
      }
      if (rc == ETIMEDOUT) {
        throw Error(ETIMEDOUT, fmt::format("{} did not answer within {} ms", endpoint_.to_string(),
                                           timeout_.count()));
      }
      throw Error(EIO, fmt::format("connection to {} failed: {}", endpoint_.to_string(),
                                   std::strerror(rc)));
    }
    release(fd);
    if (reply.status != 0) throw Error(reply.status, reply.body);
    return std::move(reply.body);
  }
}

}  // namespace converge::rpc
