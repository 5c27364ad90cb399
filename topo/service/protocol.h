// SPDX-License-Identifier: GPL-2.0-or-later
//
// The Topo service's RPC methods (Converge's RPC layer). Every request and
// reply body is one JSON document, sent as wire bytes:
//   submit  {"app", "tasks": [params, ...]}          -> {"job"}
//   next    {"worker", "wait_ms"}                     -> {} or {"job", "index", "app", "params"}
//   done    {"job", "index", "result"}                -> {}
//   failed  {"job", "index", "error"}                 -> {}
//   status  {"job"}                                   -> {"state", "total", "finished", "results"?,
//   "error"?}
// A malformed request gets EINVAL with a message; an unknown job ENOENT.
#pragma once

#include <cstdint>

namespace topo::service::method {

inline constexpr std::uint32_t kSubmit = 1;
inline constexpr std::uint32_t kNext = 2;
inline constexpr std::uint32_t kDone = 3;
inline constexpr std::uint32_t kFailed = 4;
inline constexpr std::uint32_t kStatus = 5;

}  // namespace topo::service::method
