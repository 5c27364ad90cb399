// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/serve/listener.h"

#include "tdpipe/serve/completion_api.h"
#include "tdpipe/serve/http_framing.h"

#include "converge/mutex.h"
#include "converge/net.h"
#include "converge/rpc/ready_proof.h"
#include "converge/unique_fd.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

namespace tdpipe {
namespace {

using Clock = std::chrono::steady_clock;
using converge::UniqueFd;

// httplib's server with its request handling (protected) opened to the
// front, which does the accepting and reading itself.
class RoutingServer : public httplib::Server {
 public:
  using httplib::Server::process_request;
  // httplib ends a streamed response early once its listening socket is
  // gone; the front lends it its own while it serves.
  void lend_listening_socket(socket_t fd) { svr_sock_ = fd; }
};

std::string numeric_address(const sockaddr_storage& address, socklen_t length, int& port) {
  char host[NI_MAXHOST] = "", service[NI_MAXSERV] = "";
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&address), length, host, sizeof host, service,
                  sizeof service, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return {};
  port = std::atoi(service);
  return host;
}

// One request, already read whole by the front, answered on its connection.
// Reading past the request fails: the front framed it, so httplib never
// needs more, and an answering thread never waits on a client's bytes.
class FramedRequestStream final : public httplib::Stream {
 public:
  FramedRequestStream(int fd, std::string_view request, std::chrono::milliseconds write_timeout)
      : fd_(fd), request_(request), write_timeout_(write_timeout) {}

  bool is_readable() const override { return offset_ < request_.size(); }
  bool is_writable() const override {
    pollfd p{fd_, POLLOUT, 0};
    return ::poll(&p, 1, int(write_timeout_.count())) > 0 && (p.revents & POLLOUT) &&
           !(p.revents & (POLLERR | POLLHUP));
  }
  ssize_t read(char* ptr, size_t size) override {
    if (offset_ >= request_.size()) return -1;
    std::size_t n = std::min(size, request_.size() - offset_);
    std::memcpy(ptr, request_.data() + offset_, n);
    offset_ += n;
    return ssize_t(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    for (;;) {
      if (!is_writable()) return -1;
      ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
      if (n >= 0 || (errno != EAGAIN && errno != EINTR)) return n;
    }
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (getpeername(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0)
      ip = numeric_address(address, length, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0)
      ip = numeric_address(address, length, port);
  }
  socket_t socket() const override { return fd_; }

 private:
  int fd_;
  std::string_view request_;
  std::size_t offset_ = 0;
  std::chrono::milliseconds write_timeout_;
};

// A short answer from the front itself, for a request it will not pass on,
// in the servers' own error shape; best effort (the socket does not block),
// then the connection is closed.
void refuse(int fd, int status, std::string_view reason, const std::string& message) {
  std::string body = error_json(status, message).dump();
  std::string text =
      "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n\r\n" + body;
  [[maybe_unused]] ssize_t sent = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
}

}  // namespace

class Listener::Front {
  static constexpr std::chrono::milliseconds kLinger{2000};

 public:
  explicit Front(ListenerLimits limits)
      : limits_(limits),
        epoll_(epoll_create1(EPOLL_CLOEXEC)),
        wake_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (!epoll_ || !wake_) throw std::runtime_error(std::string("epoll: ") + std::strerror(errno));
    server_.set_keep_alive_timeout(
        std::chrono::duration_cast<std::chrono::seconds>(limits_.keep_alive).count());
    server_.set_payload_max_length(limits_.max_body_bytes);
  }

  RoutingServer& server() { return server_; }

  int bind(const std::string& host, int port) {
    if (port > 0 && port <= 65535) listening_ = converge::net::take_inherited_listener(port);
    if (!listening_) listening_ = converge::net::listen_tcp(host, std::uint16_t(port));
    // The poller accepts until the queue is empty.
    fcntl(listening_.get(), F_SETFL, fcntl(listening_.get(), F_GETFL) | O_NONBLOCK);
    return converge::net::local_port(listening_.get());
  }

  void serve() {
    if (!listening_) throw std::logic_error("Listener::serve before bind");
    if (!open_poller()) return;
    server_.lend_listening_socket(listening_.get());
    std::vector<std::thread> answering;
    for (int i = 0; i < limits_.threads; ++i) answering.emplace_back([this] { answer_requests(); });
    poll_until_stopped();
    server_.lend_listening_socket(INVALID_SOCKET);  // ends responses still streaming
    {
      converge::MutexLock lock(mutex_);
      stopping_ = true;
    }
    ready_cv_.notify_all();
    for (auto& t : answering) t.join();
    waiting_.clear();
  }

  void stop() {
    {
      converge::MutexLock lock(mutex_);
      stopping_ = true;
    }
    wake();
  }

  Counters counters() const {
    return {accepted_.load(), answered_.load(), pushed_out_.load(), timed_out_.load(),
            refused_.load()};
  }

 private:
  struct Connection {
    UniqueFd fd;
    std::string bytes;        // read, not yet answered
    std::size_t request = 0;  // bytes of the first request, once it is whole
    Clock::time_point since;  // waiting since: who is pushed out first
    Clock::time_point deadline;
    // Refused: what the client still sends is read and dropped for a
    // moment, so it can finish sending and read the refusal (a close with
    // unread bytes would reset the connection before it reads the answer).
    bool draining = false;
  };

  bool open_poller() {
    watch(listening_.get());
    watch(wake_.get());
    converge::MutexLock lock(mutex_);
    return !stopping_;
  }

  void watch(int fd) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event);
  }

  void wake() {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
  }

  std::size_t open_connections() const { return waiting_.size() + answering_.load(); }

  void poll_until_stopped() {
    std::vector<epoll_event> events(256);
    auto next_sweep = Clock::now() + std::chrono::milliseconds(100);
    for (;;) {
      int timeout = waiting_.empty() ? -1 : 100;
      int n = epoll_wait(epoll_.get(), events.data(), int(events.size()), timeout);
      if (n < 0 && errno != EINTR) throw std::runtime_error("epoll_wait failed");
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == listening_.get()) {
          accept_all();
        } else if (fd == wake_.get()) {
          std::uint64_t count;
          [[maybe_unused]] auto r = ::read(wake_.get(), &count, sizeof count);
          if (!take_back_answered()) return;
        } else {
          read_from(fd);
        }
      }
      if (Clock::now() >= next_sweep) {
        close_overdue();
        next_sweep = Clock::now() + std::chrono::milliseconds(100);
      }
    }
  }

  void accept_all() {
    for (;;) {
      int fd = accept4(listening_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or out of descriptors: try on the next wake
      UniqueFd socket(fd);
      ++accepted_;
      // httplib writes a response's head and body apart: no Nagle delay between.
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (open_connections() >= std::size_t(limits_.max_connections) && !push_out_oldest(-1)) {
        ++refused_;
        refuse(fd, 503, "Service Unavailable", "too many connections; try again");
        continue;
      }
      Connection c;
      c.fd = std::move(socket);
      park(std::move(c), limits_.request_timeout);
    }
  }

  void park(Connection c, std::chrono::milliseconds allowed) {
    int fd = c.fd.get();
    c.since = Clock::now();
    c.deadline = c.since + allowed;
    buffered_ += c.bytes.size();
    watch(fd);
    waiting_.emplace(fd, std::move(c));
  }

  // Closes the connection that has waited longest (one with bytes, when
  // `with_bytes`), other than `spare`; false if there is none.
  bool push_out_oldest(int spare, bool with_bytes = false) {
    auto oldest = waiting_.end();
    for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
      if (it->first == spare || (with_bytes && it->second.bytes.empty())) continue;
      if (oldest == waiting_.end() || it->second.since < oldest->second.since) oldest = it;
    }
    if (oldest == waiting_.end()) return false;
    ++pushed_out_;
    forget(oldest);
    return true;
  }

  void forget(std::unordered_map<int, Connection>::iterator it) {
    buffered_ -= it->second.bytes.size();
    waiting_.erase(it);  // closing the descriptor takes it out of epoll
  }

  void read_from(int fd) {
    auto it = waiting_.find(fd);
    if (it == waiting_.end()) return;
    Connection& c = it->second;
    if (c.draining) return drain(it);
    const bool had_bytes = !c.bytes.empty();
    const std::size_t most = limits_.max_head_bytes + limits_.max_body_bytes;
    char chunk[16384];
    for (;;) {
      std::size_t room = std::min(sizeof chunk, most + 1 - std::min(most + 1, c.bytes.size()));
      if (room == 0) break;
      while (buffered_ + room > limits_.max_buffered_bytes) {
        if (!push_out_oldest(fd, true)) return forget(waiting_.find(fd));
      }
      ssize_t n = ::recv(fd, chunk, room, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return forget(waiting_.find(fd));
      if (n < 0) break;
      c.bytes.append(chunk, std::size_t(n));
      buffered_ += std::size_t(n);
    }
    if (!had_bytes && !c.bytes.empty()) c.deadline = Clock::now() + limits_.request_timeout;
    judge(waiting_.find(fd));
  }

  // What the bytes so far make of the connection's next request.
  void judge(std::unordered_map<int, Connection>::iterator it) {
    Connection& c = it->second;
    RequestFrame frame = frame_request(c.bytes, limits_.max_head_bytes, limits_.max_body_bytes);
    using State = RequestFrame::State;
    switch (frame.state) {
      case State::incomplete:
        if (frame.expects_continue) {
          answer_continue(c.fd.get());
          buffered_ -= drop_expect_header(c.bytes, frame.head_size);
        }
        return;
      case State::complete:
        c.request = frame.size;
        return hand_over(it);
      case State::head_too_large:
        refuse(c.fd.get(), 431, "Request Header Fields Too Large", "the request head is too large");
        break;
      case State::body_too_large:
        refuse(c.fd.get(), 413, "Payload Too Large", "the request body is too large");
        break;
      case State::length_required:
        refuse(c.fd.get(), 411, "Length Required", "a request body needs a Content-Length");
        break;
      case State::malformed:
        refuse(c.fd.get(), 400, "Bad Request", "the Content-Length is not valid");
        break;
    }
    ++refused_;
    buffered_ -= c.bytes.size();
    c.bytes = std::string();
    c.draining = true;
    c.deadline = Clock::now() + kLinger;
    shutdown(c.fd.get(), SHUT_WR);
    drain(it);
  }

  void drain(std::unordered_map<int, Connection>::iterator it) {
    char chunk[16384];
    for (int i = 0; i < 64; ++i) {  // a share per wake: a fast sender cannot hold the poller
      ssize_t n = ::recv(it->first, chunk, sizeof chunk, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return forget(it);
      if (n < 0) return;
    }
  }

  static void answer_continue(int fd) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    [[maybe_unused]] ssize_t sent = ::send(fd, kContinue.data(), kContinue.size(), MSG_NOSIGNAL);
  }

  void hand_over(std::unordered_map<int, Connection>::iterator it) {
    epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->first, nullptr);
    buffered_ -= it->second.bytes.size();
    Connection c = std::move(it->second);
    waiting_.erase(it);
    ++answering_;
    {
      converge::MutexLock lock(mutex_);
      ready_.push_back(std::move(c));
    }
    ready_cv_.notify_one();
  }

  // Connections whose answer is written come back to wait for their next
  // request. False once the listener is stopping.
  bool take_back_answered() {
    std::deque<Connection> back;
    {
      converge::MutexLock lock(mutex_);
      if (stopping_) return false;
      back.swap(answered_back_);
    }
    for (auto& c : back) {
      --answering_;
      int fd = c.fd.get();
      auto allowed = c.bytes.empty() ? limits_.keep_alive : limits_.request_timeout;
      park(std::move(c), allowed);
      judge(waiting_.find(fd));  // a pipelined request may be whole already
    }
    return true;
  }

  void close_overdue() {
    auto now = Clock::now();
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      if (it->second.deadline <= now) {
        ++timed_out_;
        buffered_ -= it->second.bytes.size();
        it = waiting_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void answer_requests() {
    for (;;) {
      Connection c;
      {
        converge::MutexLock lock(mutex_);
        while (!stopping_ && ready_.empty()) ready_cv_.wait(mutex_);
        if (stopping_) return;
        c = std::move(ready_.front());
        ready_.pop_front();
      }
      FramedRequestStream stream(c.fd.get(), std::string_view(c.bytes).substr(0, c.request),
                                 limits_.write_timeout);
      bool closing = false;
      bool written = server_.process_request(stream, false, closing, nullptr);
      ++answered_;
      if (!written || closing) {
        --answering_;
        continue;  // c closes here
      }
      c.bytes.erase(0, c.request);
      c.request = 0;
      {
        converge::MutexLock lock(mutex_);
        answered_back_.push_back(std::move(c));
      }
      wake();
    }
  }

  ListenerLimits limits_;
  RoutingServer server_;
  UniqueFd listening_, epoll_, wake_;

  // The poller's own: connections waiting for (the rest of) a request.
  std::unordered_map<int, Connection> waiting_;
  std::size_t buffered_ = 0;
  std::atomic<std::size_t> answering_{0};  // handed to the answering threads

  converge::Mutex mutex_;
  converge::CondVar ready_cv_;
  std::deque<Connection> ready_ CONVERGE_GUARDED_BY(mutex_);
  std::deque<Connection> answered_back_ CONVERGE_GUARDED_BY(mutex_);
  bool stopping_ CONVERGE_GUARDED_BY(mutex_) = false;

  std::atomic<std::size_t> accepted_{0}, answered_{0}, pushed_out_{0}, timed_out_{0}, refused_{0};
};

Listener::Listener(ListenerLimits limits) : front_(std::make_unique<Front>(limits)) {
  if (auto secret = converge::rpc::JobSecret::from_environment()) {
    server().Get(converge::rpc::kReadyProofPath,
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

httplib::Server& Listener::server() {
  return front_->server();
}

int Listener::bind(const std::string& host, int port) {
  if (port < 0 || port > 65535) throw std::runtime_error("no such port: " + std::to_string(port));
  return front_->bind(host, port);
}

void Listener::serve() {
  front_->serve();
}

void Listener::stop() {
  front_->stop();
}

Listener::Counters Listener::counters() const {
  return front_->counters();
}

}  // namespace tdpipe
