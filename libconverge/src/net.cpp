// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <system_error>

namespace converge::net {

bool port_free(std::uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return free;
}

PortRange service_port_range() {
  unsigned ephemeral_low = 32768, ephemeral_high = 60999;  // Linux's default
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> ephemeral_low >> ephemeral_high;
  // Below it if at least 4096 ports fit above 10000, else above it.
  if (ephemeral_low >= 10000 + 4096) return {10000, static_cast<std::uint16_t>(ephemeral_low - 1)};
  if (ephemeral_high <= 65535 - 4096)
    return {static_cast<std::uint16_t>(ephemeral_high + 1), 65535};
  return {10000, 65535};  // the whole range is ephemeral: probing is all we can do
}

std::string first_interface_address() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {};
  std::string found;
  for (ifaddrs* a = list; a && found.empty(); a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
    if (!(a->ifa_flags & IFF_UP) || (a->ifa_flags & IFF_LOOPBACK)) continue;
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof text);
    found = text;
  }
  freeifaddrs(list);
  return found;
}

std::uint16_t first_service_port(const std::string& job_id, unsigned rank, PortRange range) {
  unsigned span = range.high - range.low + 1u;
  return static_cast<std::uint16_t>(
      range.low + (std::hash<std::string>{}(job_id) % (span / 128) * 128 + rank * 16) % span);
}

UniqueFd listen_tcp(const std::string& host, std::uint16_t port) {
  const std::string where = host + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), std::to_string(port).c_str(),
                           &hints, &found);
      rc != 0)
    throw std::system_error(EINVAL, std::generic_category(),
                            "cannot listen on " + where + ": " + gai_strerror(rc));
  int error = EADDRNOTAVAIL;
  UniqueFd listening;
  for (addrinfo* a = found; a && !listening; a = a->ai_next) {
    UniqueFd fd(socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (!fd) {
      error = errno;
      continue;
    }
    int one = 1;  // a restarted service rebinds past its old TIME_WAIT sockets
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd.get(), a->ai_addr, a->ai_addrlen) != 0 || listen(fd.get(), SOMAXCONN) != 0) {
      error = errno;
      continue;
    }
    listening = std::move(fd);
  }
  freeaddrinfo(found);
  if (!listening)
    throw std::system_error(error, std::generic_category(), "cannot listen on " + where);
  return listening;
}

std::uint16_t local_port(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
  if (address.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in&>(address).sin_port);
  if (address.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<sockaddr_in6&>(address).sin6_port);
  return 0;
}

UniqueFd take_inherited_listener(std::uint16_t port) {
  static std::mutex mutex;
  static std::set<int> offered;  // inherited listening sockets not yet taken
  static std::once_flag read_once;
  std::call_once(read_once, [] {
    const char* count = std::getenv(kListenFdsVariable);
    int n = count ? std::atoi(count) : 0;
    for (int fd = 3; fd < 3 + n && n <= 64; ++fd) {
      int listening = 0;
      socklen_t length = sizeof listening;
      if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 || !listening)
        continue;                      // not a listening socket: not the launcher's
      fcntl(fd, F_SETFD, FD_CLOEXEC);  // ours, not our children's
      offered.insert(fd);
    }
  });
  std::lock_guard lock(mutex);
  for (int fd : offered) {
    if (local_port(fd) == port) {
      offered.erase(fd);
      return UniqueFd(fd);
    }
  }
  return {};
}

}  // namespace converge::net
