// SPDX-License-Identifier: GPL-2.0-or-later
#include "virtual_network.h"

#include "local_cluster.h"

#include "converge/process.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace converge::cluster {
namespace {

namespace fs = std::filesystem;

void run_or_throw(const std::vector<std::string>& argv) {
  auto r = process::run(argv);
  if (r.exit_code != 0) {
    std::string output = r.output;
    while (!output.empty() && output.back() == '\n') output.pop_back();
    throw ClusterError(fmt::format("`{}` failed: {}", fmt::join(argv, " "), output));
  }
}

std::uint64_t read_counter(const std::string& link, const char* which) {
  std::ifstream in("/sys/class/net/" + link + "/statistics/" + which);
  std::uint64_t value = 0;
  in >> value;
  return value;
}

// Names of this host's links (a veth's "name@peer" shortened to its name).
std::vector<std::string> link_names() {
  std::vector<std::string> names;
  std::istringstream lines(process::run({"ip", "-o", "link", "show"}).output);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string index, name;
    if (!(fields >> index >> name)) continue;
    name = name.substr(0, name.find_first_of("@:"));
    names.push_back(name);
  }
  return names;
}

std::vector<std::string> namespace_names() {
  std::vector<std::string> names;
  std::istringstream lines(process::run({"ip", "netns", "list"}).output);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string name;
    if (fields >> name) names.push_back(name);
  }
  return names;
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

NetworkPlan NetworkPlan::for_cluster(int controller_port, std::vector<std::string> nodes,
                                     std::string uplink_rate, std::string link_rate) {
  NetworkPlan plan;
  plan.tag = fmt::format("cv{}", controller_port);
  // 512 /24s in 198.18.0.0/15: clusters on different ports rarely share one.
  const int block = controller_port % 512;
  plan.prefix = fmt::format("198.{}.{}.", 18 + block / 256, block % 256);
  plan.nodes = std::move(nodes);
  plan.uplink_rate = std::move(uplink_rate);
  plan.link_rate = std::move(link_rate);
  if (!plan.uplink_rate.empty()) burst_bytes_for(plan.uplink_rate);  // checks it
  if (!plan.link_rate.empty()) burst_bytes_for(plan.link_rate);
  return plan;
}

std::vector<std::string> NetworkPlan::in_namespace(const std::string& node,
                                                   std::vector<std::string> argv) const {
  std::vector<std::string> wrapped{"nsenter", "--net=/run/netns/" + namespace_of(node), "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

std::string NetworkPlan::bridge_of(std::size_t switch_index) const {
  return fmt::format("{}b{}", tag, switch_index);
}
std::string NetworkPlan::node_link(std::size_t node_index) const {
  return fmt::format("{}n{}", tag, node_index + 1);
}
std::string NetworkPlan::uplink_up(std::size_t switch_index) const {
  return fmt::format("{}u{}", tag, switch_index);
}
std::string NetworkPlan::uplink_down(std::size_t switch_index) const {
  return fmt::format("{}d{}", tag, switch_index);
}

std::uint64_t burst_bytes_for(const std::string& rate) {
  std::size_t digits = 0;
  while (digits < rate.size() &&
         (std::isdigit(static_cast<unsigned char>(rate[digits])) || rate[digits] == '.'))
    ++digits;
  std::string unit = rate.substr(digits);
  std::transform(unit.begin(), unit.end(), unit.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static const std::pair<const char*, double> kBitsPerUnit[] = {
      {"bit", 1}, {"kbit", 1e3}, {"mbit", 1e6}, {"gbit", 1e9},
      {"bps", 8}, {"kbps", 8e3}, {"mbps", 8e6}, {"gbps", 8e9}};
  double bits = 0;
  try {
    bits = digits ? std::stod(rate.substr(0, digits)) : 0;
  } catch (const std::exception&) {
    bits = 0;
  }
  const auto* found = std::find_if(std::begin(kBitsPerUnit), std::end(kBitsPerUnit),
                                   [&](const auto& u) { return unit == u.first; });
  if (bits <= 0 || found == std::end(kBitsPerUnit))
    throw ClusterError(fmt::format(
        "link rate \"{}\": expected a number and a unit of tc's (bit, kbit, mbit, gbit, bps, "
        "kbps, mbps, gbps), e.g. 200mbit",
        rate));
  return std::max<std::uint64_t>(32 << 10, static_cast<std::uint64_t>(bits * found->second / 800));
}

bool VirtualNetwork::exists() const {
  auto present = namespace_names();
  return std::all_of(plan_.nodes.begin(), plan_.nodes.end(), [&](const std::string& node) {
    return std::find(present.begin(), present.end(), plan_.namespace_of(node)) != present.end();
  });
}

void VirtualNetwork::create(const SwitchTree& tree, std::ostream& out) const {
  remove();
  const auto& switches = tree.switches();
  auto shape = [](const std::vector<std::string>& where, const std::string& link,
                  const std::string& rate) {
    if (rate.empty()) return;
    std::vector<std::string> argv = where;
    for (const char* a : {"qdisc", "replace", "dev"}) argv.emplace_back(a);
    argv.push_back(link);
    for (const char* a : {"root", "tbf", "rate"}) argv.emplace_back(a);
    argv.push_back(rate);
    argv.emplace_back("burst");
    argv.push_back(std::to_string(burst_bytes_for(rate)));
    argv.emplace_back("latency");
    argv.emplace_back("50ms");
    run_or_throw(argv);
  };
  try {
    for (std::size_t i = 0; i < switches.size(); ++i) {
      run_or_throw({"ip", "link", "add", plan_.bridge_of(i), "type", "bridge"});
      run_or_throw({"ip", "link", "set", plan_.bridge_of(i), "up"});
    }
    // Each switch's uplink to its parent; further roots hang off the first.
    std::vector<std::optional<std::size_t>> parent(switches.size());
    for (std::size_t i = 0; i < switches.size(); ++i)
      for (std::size_t c : switches[i].children) parent[c] = i;
    auto roots = tree.roots();
    if (roots.empty()) throw ClusterError("the switch tree has no top switch");
    for (std::size_t r = 1; r < roots.size(); ++r) parent[roots[r]] = roots[0];
    for (std::size_t i = 0; i < switches.size(); ++i) {
      if (!parent[i]) continue;
      run_or_throw({"ip", "link", "add", plan_.uplink_up(i), "type", "veth", "peer", "name",
                    plan_.uplink_down(i)});
      run_or_throw({"ip", "link", "set", plan_.uplink_up(i), "master", plan_.bridge_of(i), "up"});
      run_or_throw(
          {"ip", "link", "set", plan_.uplink_down(i), "master", plan_.bridge_of(*parent[i]), "up"});
      shape({"tc"}, plan_.uplink_up(i), plan_.uplink_rate);
      shape({"tc"}, plan_.uplink_down(i), plan_.uplink_rate);
    }
    run_or_throw({"ip", "addr", "add", plan_.controller_address() + "/24", "dev",
                  plan_.bridge_of(roots[0])});
    for (std::size_t k = 0; k < plan_.nodes.size(); ++k) {
      const std::string& node = plan_.nodes[k];
      auto leaf = tree.leaf_of(node);
      if (!leaf) throw ClusterError(fmt::format("{} is on no leaf switch", node));
      const std::string ns = plan_.namespace_of(node);
      run_or_throw({"ip", "netns", "add", ns});
      run_or_throw({"ip", "link", "add", plan_.node_link(k), "type", "veth", "peer", "name", "eth0",
                    "netns", ns});
      run_or_throw(
          {"ip", "link", "set", plan_.node_link(k), "master", plan_.bridge_of(*leaf), "up"});
      run_or_throw({"ip", "-n", ns, "link", "set", "lo", "up"});
      run_or_throw({"ip", "-n", ns, "addr", "add", plan_.address_of(k) + "/24", "dev", "eth0"});
      run_or_throw({"ip", "-n", ns, "link", "set", "eth0", "up"});
      shape({"tc"}, plan_.node_link(k), plan_.link_rate);
      shape({"tc", "-n", ns}, "eth0", plan_.link_rate);
    }
  } catch (...) {
    remove();
    throw;
  }
  out << fmt::format("network: {} hosts in {}0/24 on {} switches{}\n", plan_.nodes.size(),
                     plan_.prefix, switches.size(),
                     plan_.uplink_rate.empty() ? "" : ", uplinks at " + plan_.uplink_rate);
}

int VirtualNetwork::remove() const {
  int removed = 0;
  for (const auto& ns : namespace_names()) {
    if (!starts_with(ns, plan_.tag + "-")) continue;
    process::run({"ip", "netns", "del", ns});  // its end of each veth goes, and the peer
    ++removed;
  }
  for (const auto& link : link_names()) {
    if (link.size() <= plan_.tag.size() || !starts_with(link, plan_.tag) ||
        std::string("bnud").find(link[plan_.tag.size()]) == std::string::npos)
      continue;
    if (process::run({"ip", "link", "del", link}).exit_code == 0) ++removed;
  }
  return removed;
}

std::vector<LinkCounters> VirtualNetwork::counters(const SwitchTree& tree) const {
  // The host-side end of an uplink sits in the parent's bridge, a node link's
  // in its leaf's: what such an end receives travels up the tree.
  std::vector<LinkCounters> out;
  auto add = [&](std::string link, const char* kind, std::string owner) {
    if (!fs::exists("/sys/class/net/" + link)) return;
    std::uint64_t up = read_counter(link, "rx_bytes"), down = read_counter(link, "tx_bytes");
    out.push_back({std::move(link), kind, std::move(owner), up, down});
  };
  const auto& switches = tree.switches();
  for (std::size_t i = 0; i < switches.size(); ++i)
    add(plan_.uplink_down(i), "uplink", switches[i].name);
  for (std::size_t k = 0; k < plan_.nodes.size(); ++k)
    add(plan_.node_link(k), "node", plan_.nodes[k]);
  return out;
}

}  // namespace converge::cluster
