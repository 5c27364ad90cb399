// SPDX-License-Identifier: GPL-2.0-or-later
//
// The bearer key that guards a TD-Pipe server's API, as OpenAI's and vLLM's
// servers do: "Authorization: Bearer KEY" on every request but /health.
// Inside a Converge job the key is derived from the job's secret (so the
// instances, the dispatcher and the owner's tdpipe-client agree without a
// key file); elsewhere it comes from a file or $TDPIPE_API_KEY. Never from
// the command line, where other users would see it (/proc/PID/cmdline).
#pragma once

#include <optional>
#include <string>

namespace httplib {
class Server;
}  // namespace httplib

namespace tdpipe {

inline constexpr const char* kApiKeyVariable = "TDPIPE_API_KEY";

// --api-key-file FILE if given (a 0600 file of this user), else
// $TDPIPE_API_KEY, else the key of the job whose secret this process can
// read ($CONVERGE_JOB_SECRET_FILE, or $CONVERGE_JOB_DIR/secret), else none.
// Throws std::runtime_error for a key file that is unsafe or empty.
std::optional<std::string> find_api_key(const std::string& key_file);

// The key a server requires: find_api_key's, or none when `no_key`
// (--no-api-key) says so; throws std::invalid_argument when there is none.
std::optional<std::string> server_api_key(const std::string& key_file, bool no_key);

// True when `authorization` is "Bearer KEY" (compared in constant time).
bool bearer_matches(const std::string& authorization, const std::string& key);

// Every request but GET /health must carry the key, or gets 401 with an
// OpenAI-style error body.
void require_api_key(httplib::Server& server, const std::string& key);

}  // namespace tdpipe
