// SPDX-License-Identifier: GPL-2.0-or-later
//
// The abuse every server of ours must survive, for tests of any of them:
// 1000 idle connections, 100 slow senders trickling a byte each 100 ms, and
// 20 requests claiming a huge body that never comes. Meanwhile a
// well-behaved client makes 20 calls; the report says how many were served,
// the slowest, and the server's resident memory before and under abuse.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace converge::testing {

inline int connect_loopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

inline long resident_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  long kib = -1;
  while (status >> key) {
    if (key == "VmRSS:") {
      status >> kib;
      break;
    }
    status.ignore(1 << 20, '\n');
  }
  return kib;
}

// Enough descriptors for the crowd (this process, and servers it starts
// from now on); false if the hard limit is too low.
inline bool raise_file_limit() {
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = std::min<rlim_t>(files.rlim_max, 8192);
  setrlimit(RLIMIT_NOFILE, &files);
  return files.rlim_cur >= 1300;
}

struct AbuseReport {
  int served = 0, calls = 0;
  std::chrono::milliseconds slowest{0}, total{0};
  long resident_before_kib = 0, resident_during_kib = 0;
};

// `oversized`: the bytes of a request that claims a huge body (the
// server's own framing); `call`: one well-behaved call, true if served.
inline AbuseReport abuse(int port, pid_t server, const std::string& oversized,
                         const std::function<bool()>& call) {
  using namespace std::chrono_literals;
  AbuseReport report;
  report.resident_before_kib = resident_kib(server);
  std::vector<int> crowd, slow;
  for (int i = 0; i < 1000; ++i) crowd.push_back(connect_loopback(port));
  for (int i = 0; i < 100; ++i) slow.push_back(connect_loopback(port));
  for (int i = 0; i < 20; ++i) {
    int fd = connect_loopback(port);
    if (fd >= 0) [[maybe_unused]]
      auto n = send(fd, oversized.data(), oversized.size(), MSG_NOSIGNAL);
    crowd.push_back(fd);
  }
  std::atomic<bool> done{false};
  std::thread trickle([&] {
    while (!done) {
      for (int fd : slow) {
        if (fd >= 0) [[maybe_unused]]
          auto n = send(fd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      }
      std::this_thread::sleep_for(100ms);
    }
  });
  auto started = std::chrono::steady_clock::now();
  for (report.calls = 0; report.calls < 20; ++report.calls) {
    auto t0 = std::chrono::steady_clock::now();
    if (call()) ++report.served;
    report.slowest = std::max(report.slowest, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  std::chrono::steady_clock::now() - t0));
  }
  report.total = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  report.resident_during_kib = resident_kib(server);
  done = true;
  trickle.join();
  for (int fd : crowd)
    if (fd >= 0) close(fd);
  for (int fd : slow)
    if (fd >= 0) close(fd);
  return report;
}

}  // namespace converge::testing
