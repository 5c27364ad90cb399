// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/sched/locality_map.h"

namespace converge::sched {

LocalityMap LocalityMap::from_json(const config::Json& json, const std::string& origin) {
  config::Node root(json, origin);
  if (!json.is_object()) root.fail("must be an object of path prefix -> [node, ...]");
  LocalityMap map;
  for (const auto& [prefix, nodes] : json.items()) {
    auto entry = root.at(prefix);
    if (prefix.empty() || prefix[0] != '/') entry.fail("the key must be an absolute path");
    std::string key =
        prefix.size() > 1 && prefix.back() == '/' ? prefix.substr(0, prefix.size() - 1) : prefix;
    for (const auto& n : entry.elements()) map.prefixes_[key].push_back(n.as_string());
  }
  return map;
}

LocalityMap LocalityMap::load_file(const std::string& path) {
  return from_json(config::load_file(path), path);
}

std::vector<std::string> LocalityMap::nodes_for(const std::string& path) const {
  // Walk up the path: /a/b/c, /a/b, /a, /.
  std::string p = path;
  while (!p.empty()) {
    if (auto it = prefixes_.find(p); it != prefixes_.end()) return it->second;
    auto slash = p.rfind('/');
    if (slash == std::string::npos) break;
    p = slash == 0 ? (p == "/" ? "" : "/") : p.substr(0, slash);
  }
  return {};
}

}  // namespace converge::sched
