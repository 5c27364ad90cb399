// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/switch_tree.h"

#include "converge/hostlist.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <sstream>

namespace converge {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

}  // namespace

SwitchTree SwitchTree::parse(std::string_view text, std::string_view origin) {
  SwitchTree tree;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;

    auto fail = [&](std::string_view why) -> void {
      throw TopologyError(fmt::format("{}:{}: {}", origin, line_no, why));
    };
    Switch sw;
    std::vector<std::string> children;
    std::istringstream words{std::string(line)};
    std::string word;
    while (words >> word) {
      auto eq = word.find('=');
      if (eq == std::string::npos) fail(fmt::format("expected KEY=VALUE, got \"{}\"", word));
      std::string_view key = std::string_view(word).substr(0, eq);
      std::string value = word.substr(eq + 1);
      try {
        if (iequals(key, "SwitchName")) {
          sw.name = value;
        } else if (iequals(key, "Nodes")) {
          sw.nodes = hostlist::expand(value);
        } else if (iequals(key, "Switches")) {
          children = hostlist::expand(value);
        } else if (iequals(key, "LinkSpeed")) {
          // Accepted for compatibility; Slurm does not use it either.
        } else {
          fail(fmt::format("unknown key \"{}\"", key));
        }
      } catch (const hostlist::Error& e) {
        fail(e.what());
      }
    }
    if (sw.name.empty()) fail("missing SwitchName=");
    if (tree.find_switch(sw.name)) fail(fmt::format("switch \"{}\" defined twice", sw.name));
    if (sw.nodes.empty() && children.empty()) {
      fail(fmt::format("switch \"{}\" has neither Nodes= nor Switches=", sw.name));
    }
    tree.switches_.push_back(std::move(sw));
    tree.child_names_.push_back(std::move(children));
    if (end == text.size()) break;
  }
  try {
    tree.link();
  } catch (const TopologyError& e) {
    throw TopologyError(fmt::format("{}: {}", origin, e.what()));
  }
  return tree;
}

SwitchTree SwitchTree::load_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw TopologyError(fmt::format("{}: cannot read topology file", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse(buffer.str(), path);
}

void SwitchTree::link() {
  if (switches_.empty()) throw TopologyError("no switches defined");
  for (std::size_t i = 0; i < switches_.size(); ++i) {
    for (const auto& child_name : child_names_[i]) {
      auto child = find_switch(child_name);
      if (!child) {
        throw TopologyError(fmt::format("switch \"{}\" lists unknown switch \"{}\"",
                                        switches_[i].name, child_name));
      }
      if (switches_[*child].parent) {
        throw TopologyError(fmt::format("switch \"{}\" has two parents (\"{}\" and \"{}\")",
                                        child_name, switches_[*switches_[*child].parent].name,
                                        switches_[i].name));
      }
      switches_[*child].parent = i;
      switches_[i].children.push_back(*child);
    }
    for (const auto& node : switches_[i].nodes) {
      auto [it, inserted] = leaf_by_node_.emplace(node, i);
      if (!inserted) {
        throw TopologyError(fmt::format("node \"{}\" is under two switches (\"{}\" and \"{}\")",
                                        node, switches_[it->second].name, switches_[i].name));
      }
    }
  }
  child_names_.clear();
  // Levels from the leaves up; a cycle shows as a switch revisited on its own path.
  std::vector<int> state(switches_.size(), 0);  // 0 new, 1 on path, 2 done
  std::function<int(std::size_t)> level_of = [&](std::size_t i) -> int {
    if (state[i] == 1)
      throw TopologyError(fmt::format("switch \"{}\" is in a cycle", switches_[i].name));
    if (state[i] == 2) return switches_[i].level;
    state[i] = 1;
    int level = 0;
    for (auto c : switches_[i].children) level = std::max(level, level_of(c) + 1);
    switches_[i].level = level;
    state[i] = 2;
    return level;
  };
  for (std::size_t i = 0; i < switches_.size(); ++i) level_of(i);
}

SwitchTree SwitchTree::generate(const std::vector<std::string>& nodes, std::size_t leaf_size,
                                std::size_t fan_out) {
  if (nodes.empty()) throw TopologyError("cannot build a switch tree without nodes");
  if (leaf_size == 0 || fan_out < 2) throw TopologyError("leaf size must be >= 1 and fan-out >= 2");
  SwitchTree tree;
  std::vector<std::size_t> level;
  for (std::size_t first = 0; first < nodes.size(); first += leaf_size) {
    Switch leaf;
    leaf.name = fmt::format("leaf{}", level.size() + 1);
    leaf.nodes.assign(nodes.begin() + first,
                      nodes.begin() + std::min(nodes.size(), first + leaf_size));
    level.push_back(tree.switches_.size());
    tree.switches_.push_back(std::move(leaf));
    tree.child_names_.emplace_back();
  }
  int depth = 1;
  while (level.size() > 1) {
    std::vector<std::size_t> upper;
    bool is_root = level.size() <= fan_out;
    for (std::size_t first = 0; first < level.size(); first += fan_out) {
      Switch sw;
      sw.name = is_root ? "spine" : fmt::format("agg{}-{}", depth, upper.size() + 1);
      std::vector<std::string> children;
      for (std::size_t k = first; k < std::min(level.size(), first + fan_out); ++k) {
        children.push_back(tree.switches_[level[k]].name);
      }
      upper.push_back(tree.switches_.size());
      tree.switches_.push_back(std::move(sw));
      tree.child_names_.push_back(std::move(children));
    }
    level = std::move(upper);
    ++depth;
  }
  tree.link();
  return tree;
}

SwitchTree SwitchTree::for_virtual_cluster(const std::vector<std::string>& nodes) {
  return generate(nodes, nodes.size() <= 8 ? 2 : 4, 4);
}

std::string SwitchTree::to_conf() const {
  std::string out;
  for (const auto& sw : switches_) {
    out += "SwitchName=" + sw.name;
    if (!sw.nodes.empty()) out += " Nodes=" + hostlist::compress(sw.nodes);
    if (!sw.children.empty()) {
      std::vector<std::string> names;
      for (auto c : sw.children) names.push_back(switches_[c].name);
      out += " Switches=" + hostlist::compress(names);
    }
    out += '\n';
  }
  return out;
}

std::optional<std::size_t> SwitchTree::find_switch(std::string_view name) const {
  for (std::size_t i = 0; i < switches_.size(); ++i) {
    if (switches_[i].name == name) return i;
  }
  return std::nullopt;
}

std::optional<std::size_t> SwitchTree::leaf_of(std::string_view node) const {
  auto it = leaf_by_node_.find(std::string(node));
  if (it == leaf_by_node_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::size_t> SwitchTree::roots() const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < switches_.size(); ++i) {
    if (!switches_[i].parent) out.push_back(i);
  }
  return out;
}

std::vector<std::string> SwitchTree::nodes() const {
  std::vector<std::string> out;
  for (const auto& sw : switches_) out.insert(out.end(), sw.nodes.begin(), sw.nodes.end());
  return out;
}

std::optional<int> SwitchTree::distance(std::string_view a, std::string_view b) const {
  auto la = leaf_of(a), lb = leaf_of(b);
  if (!la || !lb) return std::nullopt;
  if (a == b) return 0;
  // Walk both leaves up to their lowest common ancestor.
  std::vector<std::size_t> path_a;
  for (std::optional<std::size_t> s = la; s; s = switches_[*s].parent) path_a.push_back(*s);
  int up_b = 0;
  for (std::optional<std::size_t> s = lb; s; s = switches_[*s].parent, ++up_b) {
    auto it = std::find(path_a.begin(), path_a.end(), *s);
    if (it != path_a.end()) {
      int up_a = static_cast<int>(it - path_a.begin());
      return 2 + up_a + up_b;
    }
  }
  return std::nullopt;
}

}  // namespace converge
