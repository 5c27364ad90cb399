// SPDX-License-Identifier: GPL-2.0-or-later
//
// Small network checks shared by the tools that start daemons.
#pragma once

#include "converge/unique_fd.h"

#include <cstdint>
#include <string>

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

// Where a job's rank looks first for its services' ports in `range`: jobs
// start at different places (by their id), ranks on one host 16 apart.
std::uint16_t first_service_port(const std::string& job_id, unsigned rank, PortRange range);

// The IPv4 address of this host's first interface that is up and not
// loopback (in a network namespace: the namespace's own); empty if none.
std::string first_interface_address();

// A TCP socket bound to host:port (port 0: any free one) and listening with
// the system's largest backlog; throws std::system_error naming the address.
UniqueFd listen_tcp(const std::string& host, std::uint16_t port);
// The port a bound socket has; 0 if it has none.
std::uint16_t local_port(int fd);

// The launcher reserves a service's port by listening on it itself, then
// hands the listening socket to the service it starts: descriptors 3 to
// 3+N-1 with N in this variable (as systemd's socket activation does). So
// no other process can take the port between its choice and its use.
inline constexpr const char* kListenFdsVariable = "CONVERGE_LISTEN_FDS";
// The inherited socket listening on `port`, taken (a second call for the
// same port gets none); an empty UniqueFd if there is none.
UniqueFd take_inherited_listener(std::uint16_t port);

}  // namespace converge::net
