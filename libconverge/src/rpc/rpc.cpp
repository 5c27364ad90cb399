// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/rpc/rpc.h"

#include "converge/log.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>

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

int read_frame(int fd, Frame& frame, const Clock::time_point* deadline) {
  char header[kHeader];
  if (int rc = read_exact(fd, header, kHeader, deadline)) return rc;
  wire::Reader r(std::string_view(header, kHeader));
  std::uint32_t length = r.u32();
  if (length < kHeader - 4 || length > kMaxFrame) return EPROTO;
  frame.id = r.u64();
  frame.method = r.u32();
  frame.status = static_cast<std::int32_t>(r.u32());
  frame.body.resize(length - (kHeader - 4));
  return read_exact(fd, frame.body.data(), frame.body.size(), deadline);
}

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

Server::Server() = default;

Server::~Server() {
  stop();
}

void Server::handle(std::uint32_t method, Handler handler) {
  handlers_[method] = std::move(handler);
}

void Server::start(const std::string& host, std::uint16_t port) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw Error(errno, fmt::format("socket: {}", std::strerror(errno)));
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr = resolve(Endpoint{host, port});
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    close(listen_fd_);
    listen_fd_ = -1;
    throw Error(err, fmt::format("cannot listen on {}:{}: {}", host, port, std::strerror(err)));
  }
  listen(listen_fd_, 128);
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
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
    connections_.push_back(fd);
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

std::string Server::dispatch(std::uint32_t method, std::string_view body, std::int32_t& status) {
  auto it = handlers_.find(method);
  if (it == handlers_.end()) {
    status = ENOSYS;
    return fmt::format("unknown method {}", method);
  }
  wire::Reader request(body);
  wire::Writer reply;
  try {
    it->second(request, reply);
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

void Server::serve(int fd) {
  Frame frame;
  while (!stopping_) {
    if (read_frame(fd, frame, nullptr) != 0)
      break;  // closed, reset or garbage: drop the connection
    std::int32_t status = 0;
    std::string reply = dispatch(frame.method, frame.body, status);
    if (write_all(fd, encode(frame.id, frame.method, status, reply), nullptr) != 0) break;
  }
  MutexLock lock(mutex_);
  connections_.remove(fd);
  close(fd);
  finished_.push_back(std::this_thread::get_id());
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

Client::Client(Endpoint endpoint, std::chrono::milliseconds timeout)
    : endpoint_(std::move(endpoint)), timeout_(timeout) {}

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
    }
    if (rc == 0) {
      set_nodelay(fd);
      return fd;
    }
    int err = errno;
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
    if (rc == 0) rc = read_frame(fd, reply, &deadline);
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
