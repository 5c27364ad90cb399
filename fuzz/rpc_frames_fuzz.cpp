// SPDX-License-Identifier: GPL-2.0-or-later
//
// The RPC layer's frames as a server reads them off a connection, from
// arbitrary bytes: the first byte picks whether the connection must first
// pass the handshake (which it cannot without a MUNGE credential, so the
// handshake frame's reading and decoding is what is exercised) or counts as
// already authenticated as the job's owner or as one of its services; the
// rest is the byte stream the client sends. The server has methods of each
// kind: any body, a member-only one, one that allows 64 MiB and one that
// always fails. Every input ends with the connection closed, never a crash
// or an allocation of what a header merely claims.
#include "converge/rpc/rpc.h"
#include "converge/rpc/wire.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace {

namespace rpc = converge::rpc;

std::unique_ptr<rpc::Server> make_server() {
  auto server = std::make_unique<rpc::Server>(rpc::AuthSettings{std::nullopt, 0});
  server->handle(1, [](converge::wire::Reader& in, converge::wire::Writer& out) {
    out.bytes(in.string());
    in.expect_end();
  });
  server->handle(
      2, [](converge::wire::Reader& in, converge::wire::Writer& out) { out.u64(in.u64()); },
      rpc::MethodOptions{rpc::Access::kMember});
  server->handle(
      3, [](converge::wire::Reader& in, converge::wire::Writer& out) { out.u32(in.u32()); },
      rpc::MethodOptions{rpc::Access::kOwner, 64u << 20});
  server->handle(4, [](converge::wire::Reader&, converge::wire::Writer&) {
    throw rpc::Error(EPERM, "always refused");
  });
  return server;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static auto server = make_server();
  // The server's replies wait in the socket's buffer, unread: inputs stay
  // well below what it holds.
  if (size == 0 || size > (64u << 10)) return 0;
  int ends[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) return 0;
  int buffer = 4 << 20;
  setsockopt(ends[1], SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
  setsockopt(ends[0], SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  if (!stream.empty() && write(ends[0], stream.data(), stream.size()) != ssize_t(stream.size())) {
    close(ends[0]);
    close(ends[1]);
    return 0;
  }
  shutdown(ends[0], SHUT_WR);  // the client has said all it will
  std::optional<rpc::Peer> as;
  if (data[0] % 3 == 1) as = rpc::Peer{0, 0, false};
  if (data[0] % 3 == 2) as = rpc::Peer{0, 0, true};
  server->serve_in_this_thread(ends[1], as);
  close(ends[0]);
  return 0;
}
