// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/binding_hint.h"

#include <charconv>
#include <filesystem>
#include <fstream>

namespace converge {

std::optional<std::set<unsigned>> parse_cpu_list(std::string_view list) {
  while (!list.empty() && (list.back() == '\n' || list.back() == ' ')) list.remove_suffix(1);
  std::set<unsigned> out;
  auto number = [](std::string_view s) -> std::optional<unsigned> {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
  };
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    auto dash = item.find('-');
    auto first = number(item.substr(0, dash));
    auto last = dash == std::string_view::npos ? first : number(item.substr(dash + 1));
    if (!first || !last || *last < *first || *last - *first > 65536) return std::nullopt;
    for (unsigned c = *first; c <= *last; ++c) out.insert(c);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
    if (list.empty()) return std::nullopt;  // trailing comma
  }
  return out;
}

std::string format_cpu_list(const std::set<unsigned>& cpus) {
  std::string out;
  for (auto it = cpus.begin(); it != cpus.end();) {
    unsigned first = *it, last = first;
    for (++it; it != cpus.end() && *it == last + 1; ++it) last = *it;
    if (!out.empty()) out += ',';
    out += std::to_string(first);
    if (last != first) out += "-" + std::to_string(last);
  }
  return out;
}

BindingHint binding_hint(const std::set<unsigned>& cores,
                         const std::map<unsigned, unsigned>& numa_of_core) {
  std::set<unsigned> numa;
  for (unsigned c : cores) {
    auto it = numa_of_core.find(c);
    if (it != numa_of_core.end()) numa.insert(it->second);
  }
  return {format_cpu_list(cores), format_cpu_list(numa)};
}

namespace {

std::optional<unsigned> read_number(const std::filesystem::path& path) {
  std::ifstream in(path);
  unsigned v = 0;
  if (!(in >> v)) return std::nullopt;
  return v;
}

}  // namespace

std::map<unsigned, unsigned> numa_of_cores() {
  namespace fs = std::filesystem;
  std::map<unsigned, unsigned> numa_of_cpu;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/sys/devices/system/node", ec)) {
    std::string name = entry.path().filename().string();
    unsigned node = 0;
    if (!name.starts_with("node")) continue;
    auto [end, err] = std::from_chars(name.data() + 4, name.data() + name.size(), node);
    if (err != std::errc() || end != name.data() + name.size()) continue;
    std::ifstream in(entry.path() / "cpulist");
    std::string list;
    std::getline(in, list);
    if (auto cpus = parse_cpu_list(list)) {
      for (unsigned c : *cpus) numa_of_cpu[c] = node;
    }
  }
  // Each core once, by (package, core id), with the NUMA node of its first CPU.
  std::map<std::pair<unsigned, unsigned>, unsigned> core_numa;
  for (const auto& [cpu, node] : numa_of_cpu) {
    fs::path topology =
        fs::path("/sys/devices/system/cpu") / ("cpu" + std::to_string(cpu)) / "topology";
    auto package = read_number(topology / "physical_package_id");
    auto core = read_number(topology / "core_id");
    core_numa.emplace(std::pair{package.value_or(0), core.value_or(cpu)}, node);
  }
  std::map<unsigned, unsigned> out;
  unsigned index = 0;
  for (const auto& [key, node] : core_numa) out[index++] = node;
  return out;
}

}  // namespace converge
