// SPDX-License-Identifier: GPL-2.0-or-later
//
// Data locality from Kapok itself: which nodes hold a file's data, found
// with `kapok locate` (the client's locate) and the job's endpoints.json,
// which names the node of every Kapok server. converge-admin merges the
// answers into the locality map sched/converge reads, so big-data jobs
// with --converge-data run where Kapok put their input.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace kapok {
struct Location;
}

namespace converge::admin {

// "host:port" -> node, for every Kapok server in a job's endpoints.json.
std::map<std::string, std::string> kapok_server_nodes(const nlohmann::json& endpoints);

// The nodes holding a file's bytes, most bytes first (ties in Kapok's
// order), from what Kapok reports per server (Location::bytes_by_server:
// the data servers of a striped file, the inode's server for inline data
// and directories). Servers the map does not know are skipped; Kapok's
// layout rules stay in Kapok.
std::vector<std::string> holders(const kapok::Location& location,
                                 const std::map<std::string, std::string>& node_of_server);

// `map` (a locality map object) with `path` set to `nodes`.
nlohmann::json with_entry(nlohmann::json map, const std::string& path,
                          const std::vector<std::string>& nodes);

}  // namespace converge::admin
