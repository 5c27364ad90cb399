// SPDX-License-Identifier: GPL-2.0-or-later
//
// Small network checks shared by the tools that start daemons.
#pragma once

#include <cstdint>

namespace converge::net {

// True if nothing listens on the TCP port (leftover TIME_WAIT sockets do not
// count), checked on all addresses, which covers loopback too.
bool port_free(std::uint16_t port);

}  // namespace converge::net
