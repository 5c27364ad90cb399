// SPDX-License-Identifier: GPL-2.0-or-later
//
// How an HTTP service of a job (TD-Pipe's servers) proves to the launcher
// that it is the job's own, as the RPC handshake does for RPC services: the
// launcher asks GET kReadyProofPath?nonce=HEX and the service answers the
// hex HMAC of the nonce under the job's secret. A squatter on the port
// cannot answer, so it never looks ready and never receives the job's
// requests (and their API key). The proof is domain-separated from every
// other use of the secret, so answering anyone's nonce gives nothing away.
#pragma once

#include "converge/rpc/auth.h"

#include <string>
#include <string_view>

namespace converge::rpc {

inline constexpr const char* kReadyProofPath = "/converge/ready";

// 64 hex digits.
std::string ready_proof(const JobSecret& secret, std::string_view nonce);

// True when `answer` (surrounding whitespace ignored) is the proof for
// `nonce`; compared in constant time.
bool ready_proof_matches(const JobSecret& secret, std::string_view nonce, std::string_view answer);

}  // namespace converge::rpc
