// SPDX-License-Identifier: GPL-2.0-or-later
//
// topo-service's queue as a process, under the abuse every server of ours
// must survive (test/support/abuse.h), listening on a socket it is handed
// the way converge-launch hands it one.
#include "topo/service/client.h"
#include "topo/service/protocol.h"

#include "converge/net.h"
#include "converge/process.h"
#include "converge/rpc/error.h"
#include "converge/rpc/rpc.h"
#include "test/support/abuse.h"

#include <gtest/gtest.h>

#include <chrono>
#include <iostream>

namespace {

using namespace std::chrono_literals;

TEST(TopoQueue, AnAbusedQueueKeepsServingWithBoundedMemory) {
  ASSERT_TRUE(converge::testing::raise_file_limit()) << "too few file descriptors for the abuse";
  converge::UniqueFd reserved = converge::net::listen_tcp("127.0.0.1", 0);
  const int port = converge::net::local_port(reserved.get());
  converge::process::SpawnOptions options;
  options.argv = {std::string(CONVERGE_BIN_DIR) + "/topo-service", "queue", "--listen",
                  "127.0.0.1:" + std::to_string(port)};
  options.listening_fds = {reserved.get()};
  auto queue = converge::process::spawn_detached(options);
  reserved.reset();

  // One status call: an answer (here "no job 7") is service.
  auto status_answered = [&] {
    try {
      converge::rpc::Client client(converge::rpc::Endpoint{"127.0.0.1", std::uint16_t(port)}, 20s);
      topo::service::call(client, topo::service::method::kStatus, {{"job", 7}});
      return true;
    } catch (const converge::rpc::Error& e) {
      if (e.code() == ENOENT) return true;
      ADD_FAILURE() << "a well-behaved client was not served: " << e.what();
      return false;
    }
  };
  ASSERT_TRUE(status_answered());  // it serves on the socket it was handed
  const std::string oversized{'\x00', '\x00', '\x00', '\x04', 0, 0, 0, 0, 0, 0,
                              0,      1,      0,      0,      0, 5, 0, 0, 0, 0};
  auto report = converge::testing::abuse(port, queue.pid, oversized, status_answered);
  std::cout << "abuse of topo-service queue: " << report.served << " of " << report.calls
            << " calls served, slowest " << report.slowest.count() << " ms, in "
            << report.total.count() << " ms; resident " << report.resident_before_kib / 1024
            << " MiB before, " << report.resident_during_kib / 1024 << " MiB under abuse\n";
  EXPECT_EQ(report.served, report.calls);
  EXPECT_LT(report.slowest, 10s);
  EXPECT_LT(report.resident_during_kib - report.resident_before_kib, 200 * 1024) << "KiB";
  EXPECT_TRUE(converge::process::alive(queue));
  converge::process::terminate(queue, 5s);
}

}  // namespace
