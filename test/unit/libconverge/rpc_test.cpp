// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/rpc/ready_proof.h"
#include "converge/rpc/rpc.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
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

// Reads until the server hangs up; returns everything it sent.
std::string read_until_closed(int fd) {
  std::string all;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) all.append(buffer, static_cast<std::size_t>(n));
  return all;
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
  // The server greets, refuses the garbage and hangs up (EOF or reset).
  std::string answer = read_until_closed(fd);
  close(fd);
  EXPECT_EQ(server.refused(), 1u);
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

// ---- authentication and limits (needs munged: CTest fixture "munge") ----

namespace {

constexpr std::uint32_t kInternal = 5, kWhoAmI = 6;

rpc::AuthSettings owner_only() {
  return rpc::AuthSettings{std::nullopt, geteuid()};
}

rpc::AuthSettings member_of(const rpc::JobSecret& secret) {
  return rpc::AuthSettings{secret, geteuid()};
}

void add_guarded_handlers(rpc::Server& server) {
  add_handlers(server);
  server.handle(kInternal, [](wire::Reader&, wire::Writer& out) { out.u8(1); },
                {rpc::Access::kMember, 1u << 10});
  server.handle(kWhoAmI, [](wire::Reader&, wire::Writer& out) {
    out.u32(rpc::caller().uid);
    out.boolean(rpc::caller().member);
  });
}

// A raw TCP connection to the server, for what a well-behaved client never sends.
int raw_connection(std::uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

TEST(RpcAuth, TheCallerIsKnownToTheHandlerAndMemberMethodsNeedTheSecret) {
  auto secret = rpc::JobSecret::generate();
  rpc::Server server(member_of(secret));
  add_guarded_handlers(server);
  server.start("127.0.0.1", 0);

  rpc::Client owner({"127.0.0.1", server.port()}, 5s, owner_only());
  wire::Reader who(owner.call(kWhoAmI, ""));
  EXPECT_EQ(who.u32(), geteuid());
  EXPECT_FALSE(who.boolean());
  EXPECT_EQ(error_code([&] { owner.call(kInternal, ""); }), EACCES);

  rpc::Client member({"127.0.0.1", server.port()}, 5s, member_of(secret));
  EXPECT_EQ(wire::Reader(member.call(kInternal, "")).u8(), 1);
  wire::Reader who_member(member.call(kWhoAmI, ""));
  who_member.u32();
  EXPECT_TRUE(who_member.boolean());

  // Another job's secret proves nothing here: the connection is refused.
  rpc::Client stranger({"127.0.0.1", server.port()}, 5s, member_of(rpc::JobSecret::generate()));
  EXPECT_EQ(error_code([&] { stranger.call(kEcho, echo_body("x")); }), EACCES);
  EXPECT_GE(server.refused(), 2u);
}

// Runs `as_other_user` in a child process as uid/gid 65534 (nobody) and
// returns its exit status; the child gets the port through a pipe once the
// parent's server is up. Forked before any thread starts.
class OtherUser {
 public:
  explicit OtherUser(const std::function<int(std::uint16_t port)>& as_other_user) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      close(fds[1]);
      std::uint16_t port = 0;
      if (read(fds[0], &port, sizeof port) != sizeof port) _exit(100);
      if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0) _exit(101);
      _exit(as_other_user(port));
    }
    close(fds[0]);
    pipe_ = fds[1];
  }
  int finish(std::uint16_t port) {
    [[maybe_unused]] auto n = write(pipe_, &port, sizeof port);
    close(pipe_);
    int status = 0;
    waitpid(pid_, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  }

 private:
  pid_t pid_ = -1;
  int pipe_ = -1;
};

TEST(RpcAuth, AClientOfAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to act as a second user";
  // Another user's client: refused by our server.
  OtherUser intruder([](std::uint16_t port) {
    rpc::Client client({"127.0.0.1", port}, 5s, rpc::AuthSettings{std::nullopt, 0});
    return error_code([&] { client.call(kEcho, echo_body("x")); }) == EACCES ? 0 : 1;
  });
  rpc::Server server(rpc::AuthSettings{std::nullopt, 4242});
  add_handlers(server);
  server.start("127.0.0.1", 0);
  EXPECT_EQ(intruder.finish(server.port()), 0);
  EXPECT_EQ(server.refused(), 1u);
}

TEST(RpcAuth, AServiceOfAnotherUserIsNotTrusted) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to act as a second user";
  // Another user squats a port with a server that accepts anyone; a client
  // that expects uid 4242's service must refuse it.
  int ready[2], hold[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(hold), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    close(hold[1]);
    if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0) _exit(101);
    rpc::Server fake(rpc::AuthSettings{std::nullopt, 0});
    add_handlers(fake);
    fake.start("127.0.0.1", 0);
    std::uint16_t port = fake.port();
    [[maybe_unused]] auto n = write(ready[1], &port, sizeof port);
    char c;
    [[maybe_unused]] auto m = read(hold[0], &c, 1);  // until the parent is done
    _exit(0);
  }
  close(ready[1]);
  close(hold[0]);
  std::uint16_t port = 0;
  ASSERT_EQ(read(ready[0], &port, sizeof port), static_cast<ssize_t>(sizeof port));
  rpc::Client client({"127.0.0.1", port}, 5s, rpc::AuthSettings{std::nullopt, 4242});
  int code = error_code([&] { client.call(kEcho, echo_body("secret data")); });
  close(hold[1]);
  close(ready[0]);
  waitpid(pid, nullptr, 0);
  EXPECT_EQ(code, EACCES);
}

TEST(RpcAuth, AClientThatSkipsTheHandshakeGetsNothing) {
  rpc::Server server(owner_only());
  add_guarded_handlers(server);
  server.start("127.0.0.1", 0);
  int fd = raw_connection(server.port());
  ASSERT_GE(fd, 0);
  // A well-formed echo request, but no credential first.
  wire::Writer frame;
  std::string body = echo_body("let me in");
  frame.u32(static_cast<std::uint32_t>(16 + body.size()));
  frame.u64(1);
  frame.u32(kEcho);
  frame.u32(0);
  frame.raw(body);
  ASSERT_EQ(write(fd, frame.data().data(), frame.size()), static_cast<ssize_t>(frame.size()));
  std::string answer = read_until_closed(fd);
  close(fd);
  EXPECT_EQ(answer.find("let me in"), std::string::npos);
  EXPECT_NE(answer.find("authenticate first"), std::string::npos);
  EXPECT_EQ(server.refused(), 1u);
}

TEST(RpcLimits, AnOversizedRequestIsRefusedUnreadAndTheServerGoesOn) {
  auto secret = rpc::JobSecret::generate();
  rpc::Server server(member_of(secret));
  add_guarded_handlers(server);
  server.start("127.0.0.1", 0);
  rpc::Client client({"127.0.0.1", server.port()}, 5s, member_of(secret));
  EXPECT_EQ(error_code([&] { client.call(kInternal, std::string(2000, 'x')); }), EMSGSIZE);
  EXPECT_EQ(wire::Reader(client.call(kInternal, "")).u8(), 1);
}

TEST(RpcLimits, IdleAndSlowConnectionsAreDroppedAndOthersAreServed) {
  rpc::ServerLimits limits;
  limits.handshake_timeout = 300ms;
  limits.max_handshaking = 8;
  rpc::Server server(owner_only(), limits);
  add_handlers(server);
  server.start("127.0.0.1", 0);
  // More idle sockets than the server lets wait for a handshake.
  std::vector<int> idle;
  for (int i = 0; i < 20; ++i) idle.push_back(raw_connection(server.port()));
  // The server hangs up on every one of them, by its cap or its deadline.
  for (int fd : idle) {
    ASSERT_GE(fd, 0);
    read_until_closed(fd);
    close(fd);
  }
  rpc::Client client({"127.0.0.1", server.port()}, 5s, owner_only());
  EXPECT_EQ(wire::Reader(client.call(kEcho, echo_body("served"))).bytes(), "served");
}

// Idle sockets that hold every handshake slot (and would for a long
// deadline) do not keep a real client out: the oldest makes room for it.
TEST(RpcLimits, IdleSocketsHoldingEveryHandshakeSlotDoNotKeepAClientOut) {
  rpc::ServerLimits limits;
  limits.handshake_timeout = 60s;
  limits.max_handshaking = 8;
  rpc::Server server(owner_only(), limits);
  add_handlers(server);
  server.start("127.0.0.1", 0);
  std::vector<int> idle;
  for (int i = 0; i < 8; ++i) idle.push_back(raw_connection(server.port()));
  for (int round = 0; round < 3; ++round) {
    rpc::Client client({"127.0.0.1", server.port()}, 5s, owner_only());
    EXPECT_EQ(wire::Reader(client.call(kEcho, echo_body("in"))).bytes(), "in");
    idle.push_back(raw_connection(server.port()));  // and the crowd comes back
  }
  for (int fd : idle) close(fd);
}

TEST(ReadyProof, OnlyTheSecretsHolderAnswersTheNonce) {
  auto secret = rpc::JobSecret::generate();
  auto other = rpc::JobSecret::generate();
  std::string proof = rpc::ready_proof(secret, "abc123");
  EXPECT_EQ(proof.size(), 64u);
  EXPECT_TRUE(rpc::ready_proof_matches(secret, "abc123", proof + "\n"));
  EXPECT_FALSE(rpc::ready_proof_matches(secret, "abc124", proof));
  EXPECT_FALSE(rpc::ready_proof_matches(other, "abc123", proof));
  EXPECT_FALSE(rpc::ready_proof_matches(secret, "abc123", ""));
  // Not the secret's other uses: the TD-Pipe key is a proof of another label.
  EXPECT_NE(proof, rpc::to_hex(secret.prove("tdpipe api key", "")));
}

TEST(JobSecret, SavedOwnerOnlyAndLoadedBack) {
  auto dir = std::filesystem::temp_directory_path() / ("secret-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto path = (dir / "secret").string();
  auto secret = rpc::JobSecret::generate();
  secret.save(path);
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_EQ(rpc::JobSecret::load(path).hex(), secret.hex());
  // Readable by others, or a symlink: refused.
  std::filesystem::permissions(path, std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  EXPECT_THROW(rpc::JobSecret::load(path), std::runtime_error);
  std::filesystem::create_symlink(path, dir / "link");
  EXPECT_THROW(rpc::JobSecret::load((dir / "link").string()), std::runtime_error);
  EXPECT_THROW(rpc::JobSecret::from_hex("abc"), std::invalid_argument);
  std::filesystem::remove_all(dir);
}

TEST(RpcLimits, ReadFromConvergeJsonsRpcSection) {
  auto path = std::filesystem::temp_directory_path() / ("rpc-limits-" + std::to_string(getpid()));
  std::ofstream(path) << R"({"rpc": {"max_connections": 9, "handshake_timeout_ms": 250}})";
  auto limits = rpc::ServerLimits::load(path.string());
  EXPECT_EQ(limits.max_connections, 9u);
  EXPECT_EQ(limits.handshake_timeout, 250ms);
  EXPECT_EQ(limits.idle_timeout, rpc::ServerLimits{}.idle_timeout);
  std::ofstream(path) << R"({"rpc": {"max_conections": 9}})";
  EXPECT_THROW(rpc::ServerLimits::load(path.string()), config::Error);
  EXPECT_EQ(rpc::ServerLimits::load("").max_connections, rpc::ServerLimits{}.max_connections);
  std::filesystem::remove(path);
}
