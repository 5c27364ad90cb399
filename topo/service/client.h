// SPDX-License-Identifier: GPL-2.0-or-later
//
// Talking to a Topo service's queue: where it is (an explicit host:port,
// the queue file the launcher writes, or $CONVERGE_JOB_DIR/topo/queue.json),
// submitting a job and waiting for it. Paths inside a Kapok mount travel as
// "kapok:/PATH" because each node may mount Kapok elsewhere; workers map
// them back onto their own mount.
#pragma once

#include "converge/rpc/rpc.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace topo::service {

// The queue's endpoint: `explicit_endpoint` if given, else the first entry
// of "queue" in `queue_file` (default: $CONVERGE_JOB_DIR/topo/queue.json).
// Throws std::runtime_error saying what it looked for.
converge::rpc::Endpoint find_queue(const std::string& explicit_endpoint,
                                   const std::string& queue_file);

// "kapok:/x/y" for mount + "/x/y" (the mount empty: path unchanged).
std::string to_portable_path(const std::string& path, const std::string& kapok_mount);
// Workers open such paths beneath their own mount (task_paths.h).

nlohmann::json call(converge::rpc::Client& queue, std::uint32_t method, const nlohmann::json& body);

// Submits and waits (polling) until the job is done or failed, or `limit`
// passes (std::runtime_error). Returns the final status document.
nlohmann::json run_job(converge::rpc::Client& queue, const std::string& app,
                       const std::vector<nlohmann::json>& tasks, std::chrono::seconds limit);

}  // namespace topo::service
