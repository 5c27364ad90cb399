// SPDX-License-Identifier: GPL-2.0-or-later
//
// Small network checks shared by the tools that start daemons.
#pragma once

#include <cstdint>

namespace converge::net {

// True if nothing listens on the TCP port (leftover TIME_WAIT sockets do not
// count), checked on all addresses, which covers loopback too.
bool port_free(std::uint16_t port);

// Ports services may listen on: outside the kernel's ephemeral range
// (/proc/sys/net/ipv4/ip_local_port_range), which outgoing connections take
// their local ports from at any moment, so a port found free there may be
// taken before the service binds it.
struct PortRange {
  std::uint16_t low = 0, high = 0;  // inclusive
};
PortRange service_port_range();

}  // namespace converge::net
