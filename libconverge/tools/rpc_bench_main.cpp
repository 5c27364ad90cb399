// SPDX-License-Identifier: GPL-2.0-or-later
//
// rpc-bench: what authentication costs in the RPC layer. Beside each other
// in one run: a plain TCP connect (the baseline), a connection with the
// MUNGE handshake (owner) and with the job secret too (member), and one
// call on a connection already open (what clients pay per request, since
// they keep their connections). Medians of --rounds.
#include "converge/cli.h"
#include "converge/log.h"
#include "converge/rpc/rpc.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using converge::rpc::AuthSettings;
using converge::rpc::JobSecret;

double median_us(int rounds, const std::function<void()>& once) {
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(rounds));
  for (int r = 0; r < rounds; ++r) {
    auto t0 = Clock::now();
    once();
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  std::nth_element(us.begin(), us.begin() + static_cast<long>(us.size() / 2), us.end());
  return us[us.size() / 2];
}

void tcp_connect(std::uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("connect failed");
  close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  converge::log::set_program_name("rpc-bench");
  return converge::cli::run("rpc-bench", [&] {
    CLI::App app{"What the RPC handshake costs: connects and calls on loopback, medians",
                 "rpc-bench"};
    int rounds = 200;
    app.add_option("--rounds", rounds, "measurements per line")->check(CLI::Range(3, 100000));
    converge::cli::parse(app, argc, argv);

    JobSecret secret = JobSecret::generate();
    converge::rpc::Server server(AuthSettings{secret});
    server.handle(1, [](converge::wire::Reader&, converge::wire::Writer& out) { out.u8(1); });
    server.start("127.0.0.1", 0);
    converge::rpc::Endpoint at{"127.0.0.1", server.port()};
    auto timeout = std::chrono::seconds(5);

    double tcp = median_us(rounds, [&] { tcp_connect(server.port()); });
    double owner = median_us(rounds, [&] {
      converge::rpc::Client c(at, timeout, AuthSettings{});
      c.connect();
    });
    double member = median_us(rounds, [&] {
      converge::rpc::Client c(at, timeout, AuthSettings{secret});
      c.connect();
    });
    converge::rpc::Client pooled(at, timeout, AuthSettings{secret});
    pooled.connect();
    double call = median_us(rounds * 10, [&] { pooled.call(1, ""); });
    fmt::print("{:<44} {:>10}\n", "operation (loopback, median of rounds)", "us");
    fmt::print("{:<44} {:>10.1f}\n", "TCP connect (baseline)", tcp);
    fmt::print("{:<44} {:>10.1f}\n", "connect + handshake, owner (MUNGE)", owner);
    fmt::print("{:<44} {:>10.1f}\n", "connect + handshake, member (MUNGE + HMAC)", member);
    fmt::print("{:<44} {:>10.1f}\n", "one call on an open connection", call);
    fmt::print("handshake / call on an open connection: {:.1f}x (paid once per connection)\n",
               member / call);
    return 0;
  });
}
