// SPDX-License-Identifier: GPL-2.0-or-later
//
// The HTTP servers' front (tdpipe/serve/listener.h) in this process: request
// framing, and a crowd of idle, slow or oversized clients that never keeps a
// well-behaved one waiting.
#include "tdpipe/serve/http_framing.h"
#include "tdpipe/serve/listener.h"

#include "support/abuse.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace tdpipe {
namespace {

using namespace std::chrono_literals;
using State = RequestFrame::State;
using converge::testing::connect_loopback;

TEST(HttpFraming, FindsTheEndOfARequestByItsHeadAndContentLength) {
  const std::string get = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_EQ(frame_request(get, 1024, 1024).state, State::complete);
  EXPECT_EQ(frame_request(get, 1024, 1024).size, get.size());
  EXPECT_EQ(frame_request(get.substr(0, 20), 1024, 1024).state, State::incomplete);

  const std::string post = "POST /v1 HTTP/1.1\r\ncontent-LENGTH:  5 \r\n\r\nhello";
  EXPECT_EQ(frame_request(post.substr(0, post.size() - 1), 1024, 1024).state, State::incomplete);
  auto whole = frame_request(post + "GET", 1024, 1024);  // a pipelined request follows
  EXPECT_EQ(whole.state, State::complete);
  EXPECT_EQ(whole.size, post.size());
}

TEST(HttpFraming, RefusesWhatItCannotBoundOrRead) {
  EXPECT_EQ(frame_request(std::string(100, 'a'), 64, 1024).state, State::head_too_large);
  EXPECT_EQ(
      frame_request("POST / HTTP/1.1\r\nContent-Length: 67108864\r\n\r\n", 1024, 1 << 20).state,
      State::body_too_large);
  EXPECT_EQ(
      frame_request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 1024, 1024).state,
      State::length_required);
  for (const char* bad : {"Content-Length: -1", "Content-Length: 1x",
                          "Content-Length:", "Content-Length: 99999999999999999999999"})
    EXPECT_EQ(
        frame_request(std::string("POST / HTTP/1.1\r\n") + bad + "\r\n\r\n", 1024, 1024).state,
        State::malformed)
        << bad;
  EXPECT_EQ(
      frame_request("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 1024, 1024)
          .state,
      State::malformed);
}

TEST(HttpFraming, AnswersExpectContinueOnceAndDropsTheHeader) {
  std::string head = "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
  auto frame = frame_request(head, 1024, 1024);
  EXPECT_TRUE(frame.expects_continue);
  EXPECT_GT(drop_expect_header(head, frame.head_size), 0u);
  EXPECT_EQ(head, "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n");
  EXPECT_FALSE(frame_request(head, 1024, 1024).expects_continue);
}

// True once the server has closed the socket (within `limit`).
bool closed_by_server(int fd, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  char buffer[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) > 0) {
      ssize_t n = recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return true;
    }
  }
  return false;
}

std::string read_reply(int fd) {
  std::string reply;
  char buffer[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) break;
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    reply.append(buffer, std::size_t(n));
  }
  return reply;
}

// A listener serving GET /hello in a thread of this test.
class Serving {
 public:
  explicit Serving(ListenerLimits limits) : listener_(limits) {
    listener_.server().Get("/hello", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("hello", "text/plain");
    });
    port_ = listener_.bind("127.0.0.1", 0);
    thread_ = std::thread([this] { listener_.serve(); });
  }
  ~Serving() {
    listener_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  Listener& listener() { return listener_; }
  // One well-behaved request; its status (-1: none) and how long it took.
  std::pair<int, std::chrono::milliseconds> hello() {
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(5, 0);
    auto t0 = std::chrono::steady_clock::now();
    auto r = client.Get("/hello");
    return {r ? r->status : -1, std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - t0)};
  }

 private:
  Listener listener_;
  int port_ = 0;
  std::thread thread_;
};

class Sockets {
 public:
  ~Sockets() {
    for (int fd : fds) close(fd);
  }
  std::vector<int> fds;
};

TEST(Listener, IdleAndSlowClientsHoldNoThreadAndTheOldestMakeRoom) {
  ListenerLimits limits;
  limits.threads = 1;  // one answering thread: any client holding it would block the rest
  limits.max_connections = 64;
  Serving s(limits);
  Sockets crowd;
  for (int i = 0; i < 150; ++i) crowd.fds.push_back(connect_loopback(s.port()));
  for (int i = 0; i < 20; ++i) {
    int fd = connect_loopback(s.port());
    ASSERT_GE(fd, 0);
    ASSERT_EQ(send(fd, "GET /hel", 8, MSG_NOSIGNAL), 8);  // and never the rest
    crowd.fds.push_back(fd);
  }
  for (int i = 0; i < 10; ++i) {
    auto [status, took] = s.hello();
    EXPECT_EQ(status, 200);
    EXPECT_LT(took, 3s);
  }
  auto counters = s.listener().counters();
  EXPECT_GE(counters.pushed_out, 150u + 20u - 64u);
  EXPECT_EQ(counters.answered, 10u);
}

TEST(Listener, ARequestThatDoesNotArriveInTimeIsClosed) {
  ListenerLimits limits;
  limits.request_timeout = 300ms;
  limits.keep_alive = 300ms;
  Serving s(limits);
  int silent = connect_loopback(s.port());
  int partial = connect_loopback(s.port());
  Sockets held;
  held.fds = {silent, partial};
  ASSERT_EQ(send(partial, "GET / HTTP/1.1\r\n", 16, MSG_NOSIGNAL), 16);
  EXPECT_TRUE(closed_by_server(silent, 10s));
  EXPECT_TRUE(closed_by_server(partial, 10s));
  EXPECT_GE(s.listener().counters().timed_out, 2u);
}

TEST(Listener, OversizedRequestsAreRefusedWithoutAThread) {
  ListenerLimits limits;
  limits.threads = 1;
  limits.max_body_bytes = 1 << 20;
  Serving s(limits);
  Sockets held;
  for (int i = 0; i < 20; ++i) {
    int fd = connect_loopback(s.port());
    held.fds.push_back(fd);
    std::string head = "POST /hello HTTP/1.1\r\nContent-Length: 67108864\r\n\r\n";
    ASSERT_EQ(send(fd, head.data(), head.size(), MSG_NOSIGNAL), ssize_t(head.size()));
    EXPECT_NE(read_reply(fd).find("HTTP/1.1 413"), std::string::npos);
  }
  int huge_head = connect_loopback(s.port());
  held.fds.push_back(huge_head);
  std::string head = "GET /hello HTTP/1.1\r\nX: " + std::string(64 << 10, 'a');
  send(huge_head, head.data(), head.size(), MSG_NOSIGNAL);
  EXPECT_NE(read_reply(huge_head).find("HTTP/1.1 431"), std::string::npos);
  EXPECT_EQ(s.hello().first, 200);
}

TEST(Listener, PipelinedRequestsAreAnsweredInOrderOnOneConnection) {
  Serving s(ListenerLimits{});
  int fd = connect_loopback(s.port());
  Sockets held;
  held.fds = {fd};
  std::string two =
      "GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /nothing HTTP/1.1\r\nHost: a\r\n"
      "Connection: close\r\n\r\n";
  ASSERT_EQ(send(fd, two.data(), two.size(), MSG_NOSIGNAL), ssize_t(two.size()));
  std::string replies = read_reply(fd);
  auto first = replies.find("HTTP/1.1 200");
  auto second = replies.find("HTTP/1.1 404");
  ASSERT_NE(first, std::string::npos) << replies;
  ASSERT_NE(second, std::string::npos) << replies;
  EXPECT_LT(first, second);
}

TEST(Listener, KeepsAConnectionAliveBetweenRequests) {
  Serving s(ListenerLimits{});
  httplib::Client client("127.0.0.1", s.port());
  client.set_keep_alive(true);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(client.Get("/hello")->status, 200);
  EXPECT_EQ(s.listener().counters().accepted, 1u);
}

}  // namespace
}  // namespace tdpipe
