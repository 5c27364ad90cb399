// SPDX-License-Identifier: GPL-2.0-or-later
#include "local_cluster.h"

#include "cluster_configs.h"

#include "converge/config.h"
#include "converge/log.h"
#include "converge/mounts.h"
#include "converge/net.h"
#include "converge/poll.h"
#include "converge/switch_tree.h"
#include "converge/text_template.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace converge::cluster {
namespace {

using namespace std::chrono_literals;

constexpr const char* kDefaultConf = "/etc/slurm/slurm.conf";
constexpr const char* kMungeKey = "/etc/munge/munge.key";

std::string require_program(const std::string& name, const std::string& package) {
  auto path = process::find_program(name);
  if (!path) {
    throw ClusterError(
        fmt::format("{} not found: install Debian package {} ('make deps' does)", name, package));
  }
  return *path;
}

bool munge_works() {
  try {
    return process::run({"munge", "-n"}).exit_code == 0;
  } catch (const process::Error&) {
    return false;
  }
}

}  // namespace

Installation Installation::locate() {
  fs::path exe_dir = process::executable_dir();
  Installation found;
  // Build tree: build/bin/converge-cluster, build/plugins, build/share/converge.
  fs::path build_plugins = exe_dir / ".." / "plugins";
  if (fs::exists(build_plugins / "sched_converge.so")) {
    found.plugin_dir = fs::weakly_canonical(build_plugins).string();
  } else {
    found.plugin_dir = CONVERGE_INSTALLED_PLUGINDIR;
  }
  fs::path share = exe_dir / ".." / "share" / "converge";
  found.share_dir =
      fs::exists(share) ? fs::weakly_canonical(share).string() : CONVERGE_INSTALLED_SHAREDIR;
  return found;
}

LocalCluster::LocalCluster(std::string dir, Installation installation)
    : dir_(std::move(dir)), installation_(std::move(installation)) {}

std::optional<ClusterSettings> LocalCluster::recorded_settings() const {
  std::string path = dir_ + "/cluster.json";
  if (!fs::exists(path)) return std::nullopt;
  try {
    return ClusterSettings::from_json(config::load_file(path), path);
  } catch (const config::Error& e) {
    throw ClusterError(fmt::format("{} (remove the directory to start afresh)", e.what()));
  }
}

std::vector<LocalCluster::Daemon> LocalCluster::daemons(const ClusterSettings& s) const {
  std::vector<Daemon> out{{"munged", dir_ + "/run/munged.pid", 0},
                          {"slurmctld", dir_ + "/run/slurmctld.pid", s.controller_port}};
  auto names = s.node_names();
  for (int i = 0; i < s.nodes; ++i) {
    out.push_back(
        {"slurmd " + names[i], dir_ + "/run/slurmd-" + names[i] + ".pid", s.slurmd_port(i)});
  }
  return out;
}

std::optional<process::ProcessId> LocalCluster::running(const Daemon& d) const {
  auto id = process::read_pid_file(d.pid_file);
  if (id && process::alive(*id)) return id;
  return std::nullopt;
}

void LocalCluster::check_dependencies(const ClusterSettings& s) const {
  require_program("slurmctld", "slurmctld");
  require_program("slurmd", "slurmd");
  require_program("scontrol", "slurm-client");
  require_program("munged", "munge");
  if (s.hosts) {
    require_program("ip", "iproute2");
    require_program("tc", "iproute2");
    require_program("nsenter", "util-linux");
  }
  if (!s.stock) {
    for (const char* plugin : {"sched_converge.so", "select_converge.so", "job_submit_converge.so",
                               "spank_converge.so"}) {
      if (!fs::exists(installation_.plugin_dir + "/" + plugin)) {
        throw ClusterError(
            fmt::format("{} not found in {}: run 'make' first", plugin, installation_.plugin_dir));
      }
    }
  }
  for (const char* tmpl : {"local-cluster/slurm.conf.in", "local-cluster/plugstack.conf.in"}) {
    if (!fs::exists(installation_.share_dir + "/" + tmpl)) {
      throw ClusterError(fmt::format("template {} not found in {}", tmpl, installation_.share_dir));
    }
  }
}

namespace {

bool is_munged(const process::ProcessId& id) {
  std::ifstream comm(fmt::format("/proc/{}/comm", id.pid));
  std::string name;
  return comm >> name && name == "munged";
}

// A munged another local cluster started and left running for this one.
std::optional<process::ProcessId> inherited_munged() {
  for (const auto& [id, entry] : process::find_by_environment_prefix("CONVERGE_CLUSTER_DIR="))
    if (is_munged(id)) return id;
  return std::nullopt;
}

}  // namespace

std::vector<std::string> LocalCluster::other_clusters() const {
  std::vector<std::string> dirs;
  const std::string prefix = "CONVERGE_CLUSTER_DIR=";
  for (const auto& [id, entry] : process::find_by_environment_prefix(prefix)) {
    std::string dir = entry.substr(prefix.size());
    if (dir == dir_ || is_munged(id)) continue;
    if (std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) dirs.push_back(dir);
  }
  return dirs;
}

void LocalCluster::ensure_munge(std::ostream& out) const {
  Daemon munged = daemons(ClusterSettings{})[0];
  if (munge_works()) return;
  std::string munged_path = require_program("munged", "munge");
  if (!fs::exists(kMungeKey)) {
    auto created =
        process::run({require_program("mungekey", "munge"), "--create", "--keyfile", kMungeKey});
    if (created.exit_code != 0)
      throw ClusterError(fmt::format("cannot create {}: {}", kMungeKey, created.output));
    process::run({"chown", "munge:munge", kMungeKey});
  }
  fs::create_directories("/run/munge");
  process::run({"chown", "munge:munge", "/run/munge"});
  // Run munged as the munge user in the foreground, so the pid is exact.
  std::vector<std::string> argv{require_program("setpriv", "util-linux"),
                                "--reuid=munge",
                                "--regid=munge",
                                "--init-groups",
                                munged_path,
                                "--foreground"};
  auto id = process::spawn_detached({argv, {marker()}, dir_ + "/log/munged.log", "/"});
  process::write_pid_file(munged.pid_file, id);
  if (!poll_until(10s, 50ms, munge_works)) {
    throw ClusterError(
        fmt::format("munged did not come up: {}", last_log_lines(dir_ + "/log/munged.log", 1)));
  }
  out << fmt::format("started munged (pid {})\n", id.pid);
}

void LocalCluster::start_controller(const ClusterSettings& s) const {
  Daemon ctld = daemons(s)[1];
  std::string log = dir_ + "/log/slurmctld.log";
  auto id = process::spawn_detached(
      {{require_program("slurmctld", "slurmctld"), "-D", "-f", s.slurm_conf()},
       {marker(), "SLURM_CONF=" + s.slurm_conf()},
       dir_ + "/log/slurmctld.stderr",
       dir_});
  process::write_pid_file(ctld.pid_file, id);
  bool up = poll_until(60s, 100ms, [&] {
    if (!process::alive(id)) return true;
    auto ping = process::run({"scontrol", "ping"}, slurm_env(s));
    return ping.output.find("is UP") != std::string::npos;
  });
  if (!process::alive(id)) {
    throw ClusterError(fmt::format("slurmctld exited: {}", last_log_lines(log, 1)));
  }
  if (!up)
    throw ClusterError(
        fmt::format("slurmctld did not answer within 60 s: {}", last_log_lines(log, 1)));
}

void LocalCluster::start_slurmd(const ClusterSettings& s, int index) const {
  Daemon d = daemons(s)[2 + index];
  std::string node = s.node_names()[index];
  std::vector<std::string> argv{
      require_program("slurmd", "slurmd"), "-D", "-N", node, "-f", s.slurm_conf()};
  // A host of its own: slurmd and every step it starts live in the node's
  // network namespace (nsenter execs slurmd, so the pid stays exact).
  if (s.hosts) {
    argv = network_of(s).plan().in_namespace(node, argv);
    argv.front() = require_program("nsenter", "util-linux");
  }
  auto id = process::spawn_detached({argv,
                                     {marker(), "SLURM_CONF=" + s.slurm_conf()},
                                     dir_ + "/log/slurmd-" + node + ".stderr",
                                     dir_});
  process::write_pid_file(d.pid_file, id);
}

void LocalCluster::wait_for_nodes(const ClusterSettings& s) const {
  std::string last;
  bool ready = poll_until(90s, 200ms, [&] {
    auto r = process::run({"sinfo", "-h", "-N", "-o", "%N %t"}, slurm_env(s));
    if (r.exit_code != 0) return false;
    last = r.output;
    int responding = 0;
    std::istringstream lines(r.output);
    std::string node, state;
    while (lines >> node >> state) {
      // A trailing '*' means not responding; down/unknown are not ready yet.
      if (state.find('*') == std::string::npos && state.rfind("down", 0) != 0 &&
          state.rfind("unk", 0) != 0) {
        ++responding;
      }
    }
    return responding == s.nodes;
  });
  for (int i = 0; i < s.nodes; ++i) {
    Daemon d = daemons(s)[2 + i];
    if (!running(d)) {
      throw ClusterError(
          fmt::format("{} exited: {}", d.name,
                      last_log_lines(dir_ + "/log/slurmd-" + s.node_names()[i] + ".log", 1)));
    }
  }
  if (!ready) throw ClusterError(fmt::format("nodes not ready within 90 s: {}", last));
}

void LocalCluster::link_default_conf(const ClusterSettings& s, std::ostream& out) const {
  // Plain `sinfo`, `sbatch` ... read /etc/slurm/slurm.conf. Point it at this
  // cluster unless it is a site's configuration or another running cluster's.
  std::error_code ec;
  fs::path link = kDefaultConf;
  auto hint = [&](std::string_view why) {
    out << fmt::format("{} {}: use export SLURM_CONF={}\n", kDefaultConf, why, s.slurm_conf());
  };
  if (fs::exists(fs::symlink_status(link, ec))) {
    if (!fs::is_symlink(link, ec)) return hint("belongs to a site configuration");
    fs::path target = fs::read_symlink(link, ec);
    bool other_cluster_running =
        target != fs::path(s.slurm_conf()) &&
        fs::exists(target.parent_path().parent_path() / "cluster.json", ec);
    if (other_cluster_running) return hint("points to another running cluster");
  }
  fs::create_directories(link.parent_path(), ec);
  fs::remove(link, ec);
  fs::create_symlink(s.slurm_conf(), link, ec);
  if (ec) hint(fmt::format("cannot be linked ({})", ec.message()));
}

void LocalCluster::unlink_default_conf(const ClusterSettings& s) const {
  std::error_code ec;
  if (fs::is_symlink(kDefaultConf, ec) &&
      fs::read_symlink(kDefaultConf, ec) == fs::path(s.slurm_conf())) {
    fs::remove(kDefaultConf, ec);
  }
}

std::string LocalCluster::last_log_lines(const std::string& path, int count) const {
  std::ifstream in(path);
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    lines.push_back(line);
    if (static_cast<int>(lines.size()) > count) lines.pop_front();
  }
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : " | ") + l;
  return out.empty() ? fmt::format("(nothing in {})", path) : out;
}

// Users' jobs mount Kapok through fusermount3, which opens /dev/fuse as the
// user: Debian's udev rules make it 0666, some containers leave it 0600.
void LocalCluster::ensure_fuse_for_users(std::ostream& out) const {
  struct stat st {};
  if (stat("/dev/fuse", &st) != 0 || (st.st_mode & 0666) == 0666) return;
  if (chmod("/dev/fuse", 0666) != 0)
    throw ClusterError(fmt::format("/dev/fuse is mode {:o} and cannot be opened to users: {}",
                                   st.st_mode & 0777, std::strerror(errno)));
  out << "made /dev/fuse usable by users' jobs (mode 0666, as Debian's udev rules set it)\n";
}

void LocalCluster::up(const ClusterSettings& s, std::ostream& out) {
  s.validate();
  if (s.dir != dir_) throw ClusterError("internal: settings for another directory");
  auto recorded = recorded_settings();
  auto all = recorded ? daemons(*recorded) : std::vector<Daemon>{};
  bool any_running = false;
  for (std::size_t i = 1; i < all.size(); ++i)
    any_running = any_running || running(all[i]).has_value();
  if (any_running && !recorded->same_shape(s)) {
    throw ClusterError(
        fmt::format("a different cluster ({} nodes, {} plugins) is running in {}: run down first",
                    recorded->nodes, recorded->stock ? "stock" : "Converge", dir_));
  }
  check_dependencies(s);
  fs::create_directories(dir_);
  if (!any_running) {
    // Saved node and job state of a differently shaped cluster would not fit.
    if (recorded && !recorded->same_shape(s)) fs::remove_all(dir_ + "/state");
    write_cluster_configs(s, dir_, installation_);
  }
  ensure_munge(out);
  ensure_fuse_for_users(out);
  bool created_network = false;
  if (s.hosts) {
    bool slurmd_running = false;
    for (std::size_t i = 2; i < all.size(); ++i)
      slurmd_running = slurmd_running || running(all[i]).has_value();
    VirtualNetwork network = network_of(s);
    if (!slurmd_running && !network.exists()) {
      network.create(SwitchTree::load_file(dir_ + "/etc/topology.conf"), out);
      created_network = true;
    }
  }

  auto list = daemons(s);
  for (std::size_t i = 1; i < list.size(); ++i) {
    if (!running(list[i]) && !converge::net::port_free(list[i].port)) {
      throw ClusterError(
          fmt::format("port {} ({}) is already in use: stop what holds it or pass --port-base",
                      list[i].port, list[i].name));
    }
  }
  std::vector<std::string> started;
  try {
    if (!running(list[1])) {
      start_controller(s);
      started.push_back(list[1].name);
    }
    for (int i = 0; i < s.nodes; ++i) {
      if (!running(list[2 + i])) {
        start_slurmd(s, i);
        started.push_back(list[2 + i].name);
      }
    }
    wait_for_nodes(s);
  } catch (...) {
    // Leave nothing half-started behind: stop what this call started.
    for (const auto& d : list) {
      if (std::find(started.begin(), started.end(), d.name) == started.end()) continue;
      if (auto id = running(d)) process::terminate(*id, 10s);
    }
    if (created_network) network_of(s).remove();
    throw;
  }
  link_default_conf(s, out);
  if (started.empty()) {
    out << fmt::format("cluster in {} is already up ({} nodes)\n", dir_, s.nodes);
  } else {
    out << fmt::format("cluster up in {}: {} nodes, {} plugins (started {})\n", dir_, s.nodes,
                       s.stock ? "stock Slurm" : "Converge", fmt::join(started, ", "));
    out << fmt::format("SLURM_CONF={}\n", s.slurm_conf());
  }
}

void LocalCluster::cancel_jobs(const ClusterSettings& s, std::ostream& out) const {
  auto env = slurm_env(s);
  auto jobs = process::run({"squeue", "-h", "-o", "%i"}, env);
  if (jobs.exit_code != 0 || jobs.output.empty()) return;
  std::vector<std::string> argv{"scancel"};
  std::istringstream ids(jobs.output);
  std::string id;
  while (ids >> id) argv.push_back(id);
  if (argv.size() == 1) return;
  process::run(argv, env);
  out << fmt::format("cancelled {} job(s)\n", argv.size() - 1);
  poll_until(30s, 200ms, [&] {
    auto left = process::run({"squeue", "-h", "-o", "%i"}, env);
    return left.exit_code != 0 || left.output.empty();
  });
}

bool LocalCluster::down(std::ostream& out) {
  auto recorded = recorded_settings();
  if (!recorded) {
    out << fmt::format("no cluster in {}\n", dir_);
    return false;
  }
  auto list = daemons(*recorded);
  if (running(list[1])) cancel_jobs(*recorded, out);

  int stopped = 0;
  // slurmd first (they report to slurmctld), then slurmctld, then munged.
  for (std::size_t i = list.size(); i-- > 1;) {
    if (auto id = running(list[i])) {
      process::terminate(*id, 10s);
      ++stopped;
    }
    std::error_code ec;
    fs::remove(list[i].pid_file, ec);
  }
  // Whatever else carries our marker (slurmstepd of jobs that outlived their
  // slurmd) goes too, but never munged, which is handled on its own below.
  auto munged = running(list[0]);
  for (const auto& id : process::find_by_environment(marker())) {
    if (munged && id == *munged) continue;
    process::terminate(id, 5s);
    ++stopped;
  }
  // munged serves every local cluster on this host: it stops with the last.
  if (!munged) munged = inherited_munged();
  if (munged) {
    auto users = other_clusters();
    if (users.empty()) {
      process::terminate(*munged, 5s);
      ++stopped;
    } else {
      out << fmt::format("munged left running: the cluster in {} uses it\n", users.front());
    }
  }
  // Mounts its jobs' services left (a FUSE daemon killed outright).
  std::ifstream table("/proc/self/mounts");
  std::string device, where, rest;
  std::vector<std::string> stale;
  while (table >> device >> where && std::getline(table, rest)) {
    if (where.rfind(dir_ + "/", 0) == 0) stale.push_back(where);
  }
  for (const auto& m : stale) mounts::unmount(m);
  // The hosts' namespaces and links, once nothing runs in them.
  if (recorded->hosts) {
    if (int removed = network_of(*recorded).remove())
      out << fmt::format("removed {} network namespaces and links\n", removed);
  }
  std::error_code ec;
  fs::remove(list[0].pid_file, ec);
  unlink_default_conf(*recorded);
  fs::remove(dir_ + "/cluster.json", ec);
  out << fmt::format("cluster in {} is down ({} process(es) stopped)\n", dir_, stopped);
  return stopped > 0;
}

void LocalCluster::links(std::ostream& out, bool json) const {
  auto recorded = recorded_settings();
  if (!recorded) throw ClusterError(fmt::format("no cluster in {}", dir_));
  if (!recorded->hosts)
    throw ClusterError(
        fmt::format("the cluster in {} was started without --hosts: its nodes share "
                    "one network, so it has no links to count",
                    dir_));
  VirtualNetwork network = network_of(*recorded);
  auto counters = network.counters(SwitchTree::load_file(dir_ + "/etc/topology.conf"));
  if (json) {
    auto all = nlohmann::json::array();
    for (const auto& c : counters)
      all.push_back({{"link", c.link},
                     {"kind", c.kind},
                     {"owner", c.owner},
                     {"upward_bytes", c.upward},
                     {"downward_bytes", c.downward}});
    out << nlohmann::json{{"uplink_rate", recorded->uplink_rate},
                          {"link_rate", recorded->link_rate},
                          {"links", all}}
               .dump()
        << '\n';
    return;
  }
  for (const auto& c : counters)
    out << fmt::format("  {:<6} {:<8} {:<12} up {:>14} B  down {:>14} B\n", c.kind, c.owner, c.link,
                       c.upward, c.downward);
}

bool LocalCluster::status(std::ostream& out) const {
  auto recorded = recorded_settings();
  if (!recorded) {
    out << fmt::format("no cluster in {}\n", dir_);
    return false;
  }
  auto list = daemons(*recorded);
  bool all_up = true;
  out << fmt::format("cluster in {}: {} nodes, {} plugins\n", dir_, recorded->nodes,
                     recorded->stock ? "stock Slurm" : "Converge");
  if (recorded->hosts) {
    VirtualNetwork network = network_of(*recorded);
    const auto& plan = network.plan();
    out << fmt::format("network: {} (controller {}), nodes {} .. {}{}\n",
                       network.exists() ? "up" : "MISSING", plan.controller_address(),
                       plan.address_of(0), plan.address_of(plan.nodes.size() - 1),
                       recorded->uplink_rate.empty() ? "" : ", uplinks " + recorded->uplink_rate);
    if (network.exists()) links(out, false);
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto id = running(list[i]);
    std::string port = list[i].port ? fmt::format(" port {}", list[i].port) : "";
    if (i == 0) {
      out << fmt::format(
          "  {:<12} {}\n", "munged",
          id ? fmt::format("pid {} (started here)", id->pid)
             : (munge_works() ? std::string("running (not started here)") : std::string("DOWN")));
      continue;
    }
    if (!id) all_up = false;
    out << fmt::format("  {:<12} {}{}\n", list[i].name,
                       id ? fmt::format("pid {}", id->pid) : "DOWN", port);
  }
  auto env = slurm_env(*recorded);
  if (running(list[1])) {
    auto config = process::run({"scontrol", "show", "config"}, env);
    std::istringstream lines(config.output);
    std::string line;
    out << "plugins:\n";
    while (std::getline(lines, line)) {
      for (const char* key :
           {"SchedulerType ", "SelectType ", "TopologyPlugin ", "PlugStackConfig "}) {
        if (line.rfind(key, 0) == 0) out << "  " << line << '\n';
      }
    }
    std::ifstream log(dir_ + "/log/slurmctld.log");
    std::map<std::string, std::string> reports;  // plugin -> its last "active" line
    while (std::getline(log, line)) {
      for (const char* plugin : {"sched/converge: active", "select/converge: active"}) {
        if (auto at = line.find(plugin); at != std::string::npos) reports[plugin] = line.substr(at);
      }
    }
    for (const auto& [plugin, report] : reports) out << "  " << report << '\n';
    out << "nodes:\n"
        << process::run({"sinfo", "-N", "-o", "  %N %8t %c CPUs %m MB %P"}, env).output;
  }
  return all_up;
}

}  // namespace converge::cluster
