// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

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

}  // namespace converge::net
