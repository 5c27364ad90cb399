// SPDX-License-Identifier: GPL-2.0-or-later
//
// Where data lives, for the pull queue's locality preference: an admin's
// map from path prefixes (Kapok paths) to the nodes that hold them,
// {"/datasets/a": ["n3", "n4"], ...}. The longest matching prefix, on whole
// path components, wins.
#pragma once

#include "converge/config.h"

#include <map>
#include <string>
#include <vector>

namespace converge::sched {

class LocalityMap {
 public:
  static LocalityMap from_json(const config::Json& json, const std::string& origin);
  static LocalityMap load_file(const std::string& path);

  std::vector<std::string> nodes_for(const std::string& path) const;
  std::size_t size() const { return prefixes_.size(); }

 private:
  std::map<std::string, std::vector<std::string>> prefixes_;
};

}  // namespace converge::sched
