// SPDX-License-Identifier: GPL-2.0-or-later
//
// MUNGE credentials (libmunge): the local munged signs a payload with the
// caller's uid and gid; any host sharing the cluster's MUNGE key checks it.
// munged refuses a credential decoded twice, so one cannot be replayed.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace converge::rpc {

struct MungeIdentity {
  uid_t uid;
  gid_t gid;
  std::string payload;
};

// Throw rpc::Error: EHOSTDOWN when munged cannot be reached, EACCES when
// the credential is invalid, expired or replayed.
std::string munge_encode(std::string_view payload);
MungeIdentity munge_decode(const std::string& credential);

}  // namespace converge::rpc
