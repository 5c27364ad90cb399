// SPDX-License-Identifier: GPL-2.0-or-later
//
// converge-admin: what Converge's scheduler is doing, for admins. `status`
// reads the status sched/converge keeps in slurmctld's StateSaveLocation
// (converge-status.json): the pull queue by class, the pools, what was
// pulled, and the recent decisions with their reasons. `locality` writes
// where Kapok holds files into the locality map sched/converge reads.
// `check` verifies, on the node it runs on, what Converge needs there.
#include "kapok/client/client.h"
#include "converge/cli.h"
#include "converge/log.h"
#include "converge/process.h"
#include "converge/sched/scheduler_status.h"
#include "kapok_locality.h"
#include "node_check.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace {

namespace sched = converge::sched;

constexpr const char* kUsage = R"(usage: converge-admin status [--json]
       converge-admin locality --map FILE [--endpoints FILE] [--reconfigure] PATH...
       converge-admin check [--slurm-conf FILE] [--config FILE] [--munge-socket PATH]

check: on the node it runs on, verifies what Converge needs there: the running
Slurm is the version the plugins were built for and they are in its PluginDir,
MUNGE answers, FUSE is usable by users' jobs, hwloc sees the node, the job
directories' parent is safe, and the services' programs are found. One line
each; the exit status is 1 if anything is wrong.

status: shows sched/converge's pull queue (waiting big-data jobs by class), how many
jobs nodes have pulled, the locality map in use, the adaptive pools (members,
limits, load, recent moves with their reasons) and the recent decisions
with their reasons. `scontrol reconfigure` reloads the policy from
converge.json.

locality: asks Kapok (the instance of the job whose endpoints file is
given, default $CONVERGE_ENDPOINTS) which nodes hold each Kapok PATH, and
records them in the locality map FILE (scheduler.locality_map in
converge.json), so big-data jobs with --converge-data=PATH run there.
--reconfigure then runs `scontrol reconfigure` so slurmctld reads the map.
)";

std::string state_save_location() {
  auto r = converge::process::run({"scontrol", "show", "config"});
  if (r.exit_code != 0) throw std::runtime_error("scontrol show config failed: " + r.output);
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("StateSaveLocation", 0) != 0) continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) break;
    std::string v = line.substr(eq + 1);
    v.erase(0, v.find_first_not_of(' '));
    return v;
  }
  throw std::runtime_error("scontrol show config names no StateSaveLocation");
}

int status(bool as_json) {
  auto s = sched::SchedulerStatus::read(state_save_location());
  if (as_json) {
    std::cout << s.to_json().dump(2) << "\n";
    return 0;
  }
  std::time_t now = std::time(nullptr);
  std::cout << fmt::format("sched/converge (status written {} s ago)\n", now - s.written);
  std::cout << fmt::format("  pull queue: {} waiting ({} real-time, {} batch)\n", s.queued,
                           s.realtime, s.queued - s.realtime);
  std::cout << fmt::format("  pulled by nodes so far: {} jobs in {} attempts\n", s.pulled,
                           s.attempts);
  std::cout << fmt::format("  locality map: {} prefixes\n", s.locality_prefixes);
  auto clock = [](std::time_t t) {
    char stamp[16];
    std::strftime(stamp, sizeof stamp, "%H:%M:%S", std::localtime(&t));
    return std::string(stamp);
  };
  if (s.pools.empty())
    std::cout << "  pools: none configured (every node serves every class)\n";
  else
    std::cout << "  pools:\n";
  for (const auto& [name, pool] : s.pools) {
    std::cout << fmt::format(
        "    {:<8} {} nodes (min {}, max {}): {}; {} CPUs pending, {} idle nodes\n", name,
        pool.nodes.size(), pool.min_nodes, pool.max_nodes ? std::to_string(pool.max_nodes) : "none",
        fmt::join(pool.nodes, ","), pool.pending_cpus, pool.idle_nodes);
  }
  if (!s.moves.empty()) std::cout << "  recent pool moves:\n";
  for (const auto& m : s.moves) {
    std::cout << fmt::format("    {}  {:<6} {} -> {}: {}\n", clock(m.at), m.node, m.from, m.to,
                             m.reason);
  }
  std::cout << "  recent decisions:\n";
  if (s.recent.empty()) std::cout << "    none\n";
  for (const auto& d : s.recent) {
    std::cout << fmt::format("    {}  job {:<8} -> {:<6} {:<9} {}\n", clock(d.at), d.job, d.node,
                             d.urgency, d.reason);
  }
  return 0;
}

struct LocalityArgs {
  std::string map_file, endpoints_file;
  bool reconfigure = false;
  std::vector<std::string> paths;
};

int locality(const LocalityArgs& a) {
  const std::string& map_file = a.map_file;
  const std::string& endpoints_file = a.endpoints_file;
  std::ifstream in(endpoints_file);
  if (!in) throw std::runtime_error(fmt::format("cannot read {}", endpoints_file));
  auto endpoints = nlohmann::json::parse(in);
  auto node_of = converge::admin::kapok_server_nodes(endpoints);
  auto members = endpoints.at("files").at("kapok").at(0).get<std::string>();
  auto config = std::filesystem::path(endpoints_file).parent_path() / "converge.json";
  kapok::Client client(
      kapok::Members::load(members),
      kapok::Settings::load(std::filesystem::exists(config) ? config.string() : ""));

  nlohmann::json map = nlohmann::json::object();
  if (std::filesystem::exists(map_file)) {
    std::ifstream old(map_file);
    map = nlohmann::json::parse(old);
  }
  for (const auto& path : a.paths) {
    auto nodes = converge::admin::holders(client.locate(path), node_of);
    std::cout << fmt::format("{} -> {}\n", path, fmt::join(nodes, ","));
    map = converge::admin::with_entry(std::move(map), path, nodes);
  }
  std::string tmp = map_file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << map.dump(2) << "\n";
    if (!out) throw std::runtime_error(fmt::format("cannot write {}", tmp));
  }
  std::filesystem::rename(tmp, map_file);
  if (a.reconfigure) {
    auto r = converge::process::run({"scontrol", "reconfigure"});
    if (r.exit_code != 0) throw std::runtime_error("scontrol reconfigure failed: " + r.output);
  }
  return 0;
}

int check(const converge::admin::NodeCheckSettings& settings) {
  int failed = 0;
  for (const auto& c : converge::admin::check_node(settings)) {
    std::cout << fmt::format("{:<4}  {:<9} {}\n", c.problem ? "FAIL" : "ok", c.name,
                             c.problem ? *c.problem : c.detail);
    failed += c.problem.has_value();
  }
  if (failed) std::cout << fmt::format("{} check(s) failed\n", failed);
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  converge::log::set_program_name("converge-admin");
  bool as_json = false;
  LocalityArgs locality_args;
  CLI::App app{"What Converge's scheduler is doing, for admins", "converge-admin"};
  app.footer(kUsage);
  app.require_subcommand(1);
  auto* status_cmd = app.add_subcommand("status", "sched/converge's queue, pools and decisions");
  status_cmd->add_flag("--json", as_json, "the status file as it is");
  auto* locality_cmd =
      app.add_subcommand("locality", "fill the locality map from where Kapok holds files");
  locality_cmd->add_option("--map", locality_args.map_file, "the locality map to update")
      ->required();
  locality_cmd->add_option("--endpoints", locality_args.endpoints_file, "the job's endpoints.json")
      ->envname("CONVERGE_ENDPOINTS")
      ->required();
  locality_cmd->add_flag("--reconfigure", locality_args.reconfigure,
                         "then scontrol reconfigure, so slurmctld takes it up");
  locality_cmd->add_option("path", locality_args.paths, "absolute Kapok paths")
      ->required()
      ->check([](const std::string& path) {
        return !path.empty() && path[0] == '/' ? "" : path + ": expected an absolute Kapok path";
      });
  converge::admin::NodeCheckSettings check_settings;
  auto* check_cmd = app.add_subcommand("check", "what Converge needs on this node, one line each");
  check_cmd->add_option("--slurm-conf", check_settings.slurm_conf,
                        "slurm.conf (default $SLURM_CONF or /etc/slurm/slurm.conf)");
  check_cmd->add_option("--config", check_settings.config,
                        "converge.json (default: beside slurm.conf)");
  check_cmd->add_option("--munge-socket", check_settings.munge_socket,
                        "munged's socket (default: libmunge's)");
  try {
    converge::cli::parse(app, argc, argv);
  } catch (const CLI::ParseError& e) {
    return converge::cli::exit_code(e);
  }
  try {
    if (*status_cmd) return status(as_json);
    if (*check_cmd) return check(check_settings);
    return locality(locality_args);
  } catch (const std::exception& e) {
    converge::log::error("{}", e.what());
  }
  return 1;
}
