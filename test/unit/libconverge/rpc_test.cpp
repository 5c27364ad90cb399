// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/rpc/rpc.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

using namespace converge;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t kEcho = 1, kFail = 2, kSlow = 3, kSum = 4;

void add_handlers(rpc::Server& server) {
  server.handle(kEcho, [](wire::Reader& in, wire::Writer& out) { out.bytes(in.bytes()); });
  server.handle(kFail,
                [](wire::Reader&, wire::Writer&) { throw rpc::Error(ENOENT, "no such thing"); });
  server.handle(kSlow, [](wire::Reader&, wire::Writer&) { std::this_thread::sleep_for(500ms); });
  server.handle(kSum, [](wire::Reader& in, wire::Writer& out) {
    std::uint64_t a = in.u64(), b = in.u64();
    in.expect_end();
    out.u64(a + b);
  });
}

std::string echo_body(std::string_view text) {
  wire::Writer w;
  w.bytes(text);
  return w.take();
}

int error_code(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const rpc::Error& e) {
    return e.code();
  }
  return 0;
}

}  // namespace

TEST(Wire, RoundTripsAndRejectsShortInput) {
  wire::Writer w;
  w.u8(7);
  w.u32(0xdeadbeef);
  w.u64(1ull << 40);
  w.i64(-5);
  w.bytes("hello");
  wire::Reader r(w.data());
  EXPECT_EQ(r.u8(), 7);
  EXPECT_EQ(r.u32(), 0xdeadbeefu);
  EXPECT_EQ(r.u64(), 1ull << 40);
  EXPECT_EQ(r.i64(), -5);
  EXPECT_EQ(r.bytes(), "hello");
  EXPECT_NO_THROW(r.expect_end());
  wire::Reader short_input(std::string_view(w.data()).substr(0, 3));
  short_input.u8();
  EXPECT_THROW(short_input.u32(), wire::Error);
}

TEST(Rpc, EndpointParsing) {
  EXPECT_EQ(rpc::Endpoint::parse("127.0.0.1:80").port, 80);
  EXPECT_EQ(rpc::Endpoint::parse("node-1:7000").host, "node-1");
  EXPECT_THROW(rpc::Endpoint::parse("nohost"), std::invalid_argument);
  EXPECT_THROW(rpc::Endpoint::parse("h:0"), std::invalid_argument);
  EXPECT_THROW(rpc::Endpoint::parse("h:99999"), std::invalid_argument);
}

TEST(Rpc, CallsRepliesAndErrors) {
  rpc::Server server;
  add_handlers(server);
  server.start("127.0.0.1", 0);
  rpc::Client client({"127.0.0.1", server.port()}, 2s);
  std::string reply = client.call(kEcho, echo_body("ping"));  // the Reader only views it
  EXPECT_EQ(wire::Reader(reply).bytes(), "ping");
  EXPECT_EQ(error_code([&] { client.call(kFail, ""); }), ENOENT);
  EXPECT_EQ(error_code([&] { client.call(99, ""); }), ENOSYS);
  // A malformed request is answered, and the server keeps serving.
  EXPECT_EQ(error_code([&] { client.call(kSum, "xx"); }), EBADMSG);
  wire::Writer sum;
  sum.u64(40);
  sum.u64(2);
  EXPECT_EQ(wire::Reader(client.call(kSum, sum.data())).u64(), 42u);
}

TEST(Rpc, GarbageOnTheSocketDoesNotKillTheServer) {
  rpc::Server server;
  add_handlers(server);
  server.start("127.0.0.1", 0);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const char garbage[] = "\xff\xff\xff\xff this is not a frame at all";
  ASSERT_GT(write(fd, garbage, sizeof garbage), 0);
  char buffer[16];
  EXPECT_LE(read(fd, buffer, sizeof buffer), 0);  // the server hangs up on it (EOF or reset)
  close(fd);
  rpc::Client client({"127.0.0.1", server.port()}, 2s);
  EXPECT_EQ(wire::Reader(client.call(kEcho, echo_body("still here"))).bytes(), "still here");
}

TEST(Rpc, SlowServerTimesOut) {
  rpc::Server server;
  add_handlers(server);
  server.start("127.0.0.1", 0);
  rpc::Client client({"127.0.0.1", server.port()}, 100ms);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(error_code([&] { client.call(kSlow, ""); }), ETIMEDOUT);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(Rpc, DownServerGivesTimeoutThenWorksWhenBack) {
  std::uint16_t port;
  {
    rpc::Server probe;
    probe.start("127.0.0.1", 0);
    port = probe.port();
  }
  rpc::Client client({"127.0.0.1", port}, 200ms);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(error_code([&] { client.call(kEcho, echo_body("x")); }), ETIMEDOUT);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  rpc::Server server;
  add_handlers(server);
  server.start("127.0.0.1", port);
  EXPECT_EQ(wire::Reader(client.call(kEcho, echo_body("back"))).bytes(), "back");
  server.stop();
  // A pooled connection to a restarted server is replaced transparently.
  rpc::Server again;
  add_handlers(again);
  again.start("127.0.0.1", port);
  EXPECT_EQ(wire::Reader(client.call(kEcho, echo_body("again"))).bytes(), "again");
}

TEST(Rpc, ConcurrentCallersShareOneClient) {
  rpc::Server server;
  add_handlers(server);
  server.start("127.0.0.1", 0);
  rpc::Client client({"127.0.0.1", server.port()}, 5s);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        wire::Writer w;
        w.u64(static_cast<std::uint64_t>(t));
        w.u64(static_cast<std::uint64_t>(i));
        if (wire::Reader(client.call(kSum, w.data())).u64() == static_cast<std::uint64_t>(t + i))
          ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8 * 200);
}

TEST(Rpc, EveryStalePooledConnectionIsReplaced) {
  auto server = std::make_unique<rpc::Server>();
  add_handlers(*server);
  server->start("127.0.0.1", 0);
  std::uint16_t port = server->port();
  rpc::Client client({"127.0.0.1", port}, 1s);
  // Two calls in flight at once leave two connections in the pool.
  std::thread a([&] { client.call(kSlow, ""); }), b([&] { client.call(kSlow, ""); });
  a.join();
  b.join();
  server.reset();  // both pooled connections are now dead
  EXPECT_EQ(error_code([&] { client.call(kEcho, echo_body("x")); }), ETIMEDOUT);
  rpc::Server again;
  add_handlers(again);
  again.start("127.0.0.1", port);
  EXPECT_EQ(wire::Reader(client.call(kEcho, echo_body("back"))).bytes(), "back");
}
