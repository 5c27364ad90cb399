// SPDX-License-Identifier: GPL-2.0-or-later
#include "kapok_locality.h"

#include "kapok/client/client.h"

#include <algorithm>

namespace converge::admin {

std::map<std::string, std::string> kapok_server_nodes(const nlohmann::json& endpoints) {
  std::map<std::string, std::string> out;
  const auto* servers = &endpoints;
  for (const char* key : {"services", "kapok", "server"}) {
    if (!servers->is_object() || !servers->contains(key))
      throw std::runtime_error("endpoints file has no services.kapok.server: is Kapok running?");
    servers = &(*servers)[key];
  }
  for (const auto& s : *servers) {
    auto endpoint = s.value("endpoint", std::string{});
    auto node = s.value("node", std::string{});
    if (!endpoint.empty() && !node.empty()) out[endpoint] = node;
  }
  return out;
}

std::vector<std::string> holders(const kapok::Location& location,
                                 const std::map<std::string, std::string>& node_of_server) {
  // Kapok says which server holds how much; nodes add up their servers.
  std::vector<std::pair<std::string, std::uint64_t>> per_node;  // first-seen order
  for (const auto& [server, n] : location.bytes_by_server) {
    auto it = node_of_server.find(server);
    if (it == node_of_server.end()) continue;
    auto seen = std::find_if(per_node.begin(), per_node.end(),
                             [&](const auto& p) { return p.first == it->second; });
    if (seen == per_node.end())
      per_node.emplace_back(it->second, n);
    else
      seen->second += n;
  }
  std::stable_sort(per_node.begin(), per_node.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<std::string> out;
  out.reserve(per_node.size());
  for (const auto& [node, n] : per_node) out.push_back(node);
  return out;
}

nlohmann::json with_entry(nlohmann::json map, const std::string& path,
                          const std::vector<std::string>& nodes) {
  if (!map.is_object()) map = nlohmann::json::object();
  map[path] = nodes;
  return map;
}

}  // namespace converge::admin
