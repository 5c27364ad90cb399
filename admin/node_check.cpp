// SPDX-License-Identifier: GPL-2.0-or-later
#include "node_check.h"

#include "converge/job_directory.h"
#include "converge/launch_settings.h"
#include "converge/node_topology.h"
#include "converge/process.h"
#include "converge/service_descriptor.h"

#include <fmt/format.h>
#include <munge.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

namespace converge::admin {
namespace {

namespace fs = std::filesystem;

const char* const kPlugins[] = {"sched_converge.so", "select_converge.so", "job_submit_converge.so",
                                "spank_converge.so"};

// The value of `key` in slurm.conf (the last line that sets it), or "".
std::string slurm_conf_value(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string value;
  for (std::string line; std::getline(in, line);) {
    line = line.substr(0, line.find('#'));
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string name = line.substr(0, eq);
    name.erase(0, name.find_first_not_of(" \t"));
    name.erase(name.find_last_not_of(" \t") + 1);
    if (strcasecmp(name.c_str(), key.c_str()) != 0) continue;
    value = line.substr(eq + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t\r") + 1);
  }
  return value;
}

// "22.05.8" and "22.5.8" alike: major, minor, micro.
std::vector<int> version_numbers(const std::string& text) {
  std::vector<int> numbers;
  std::istringstream parts(text);
  for (std::string part; std::getline(parts, part, '.');) {
    try {
      numbers.push_back(std::stoi(part));
    } catch (const std::exception&) {
      numbers.push_back(-1);
    }
  }
  return numbers;
}

NodeCheck slurm_version() {
  NodeCheck c{"slurm", {}, {}};
  auto r = process::run({"slurmd", "-V"});
  std::istringstream words(r.output);
  std::string name, version;
  words >> name >> version;
  // "slurm 22.05.8", or Debian's "slurm-wlm 22.05.8".
  if (r.exit_code != 0 || name.rfind("slurm", 0) != 0 || version.empty()) {
    c.problem = "slurmd -V does not run here: is Slurm (the slurmd package) installed?";
  } else if (version_numbers(version) != version_numbers(CONVERGE_BUILT_FOR_SLURM)) {
    c.problem = fmt::format(
        "the running Slurm is {} but Converge's plugins were built for {}: Slurm loads a plugin "
        "only of its own version; rebuild Converge against {}'s source tree (make "
        "SLURM_SRC=...)",
        version, CONVERGE_BUILT_FOR_SLURM, version);
  } else {
    c.detail = fmt::format("{} (the plugins' version)", version);
  }
  return c;
}

NodeCheck plugins(const std::string& slurm_conf) {
  NodeCheck c{"plugins", {}, {}};
  std::string plugin_dir = slurm_conf_value(slurm_conf, "PluginDir");
  if (plugin_dir.empty()) plugin_dir = CONVERGE_SLURM_PLUGINDIR;
  std::vector<std::string> missing;
  for (const char* plugin : kPlugins) {
    bool found = false;
    std::istringstream dirs(plugin_dir);
    for (std::string dir; std::getline(dirs, dir, ':') && !found;)
      found = access((dir + "/" + plugin).c_str(), R_OK) == 0;
    if (!found) missing.push_back(plugin);
  }
  if (!missing.empty())
    c.problem = fmt::format("{} not in PluginDir {} (make install PLUGINDIR=...)",
                            fmt::join(missing, ", "), plugin_dir);
  else
    c.detail = "sched, select, job_submit and spank plugins in " + plugin_dir;
  return c;
}

NodeCheck munge(const std::string& socket) {
  NodeCheck c{"munge", {}, {}};
  munge_ctx_t ctx = munge_ctx_create();
  if (!ctx) return {"munge", "cannot create a MUNGE context (out of memory)", {}};
  if (!socket.empty()) munge_ctx_set(ctx, MUNGE_OPT_SOCKET, socket.c_str());
  char* credential = nullptr;
  munge_err_t e = munge_encode(&credential, ctx, "converge-admin check", 20);
  if (e != EMUNGE_SUCCESS) {
    c.problem = fmt::format("munged does not answer{}: {}", socket.empty() ? "" : " at " + socket,
                            munge_ctx_strerror(ctx));
  } else {
    void* payload = nullptr;
    int length = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    e = munge_decode(credential, ctx, &payload, &length, &uid, &gid);
    if (e != EMUNGE_SUCCESS)
      c.problem =
          fmt::format("munged cannot decode its own credential: {}", munge_ctx_strerror(ctx));
    else
      c.detail = fmt::format("a credential made and checked (uid {})", uid);
    std::free(payload);
  }
  std::free(credential);
  munge_ctx_destroy(ctx);
  return c;
}

NodeCheck fuse() {
  NodeCheck c{"fuse", {}, {}};
  struct stat st {};
  auto fusermount = process::find_program("fusermount3");
  if (stat("/dev/fuse", &st) != 0 || !S_ISCHR(st.st_mode)) {
    c.problem = "/dev/fuse is missing: load the fuse module (modprobe fuse)";
  } else if ((st.st_mode & 0666) != 0666) {
    c.problem = fmt::format(
        "/dev/fuse is mode {:o}: users' jobs cannot mount Kapok (Debian's udev rules make it 0666)",
        st.st_mode & 0777);
  } else if (!fusermount) {
    c.problem = "fusermount3 not found: install the fuse3 package";
  } else if (stat(fusermount->c_str(), &st) != 0 || st.st_uid != 0 || !(st.st_mode & S_ISUID)) {
    c.problem = *fusermount + " is not setuid root: users' jobs cannot mount";
  } else {
    std::ifstream conf("/etc/fuse.conf");
    bool allow_other = false;
    for (std::string line; std::getline(conf, line);)
      allow_other = allow_other || line.rfind("user_allow_other", 0) == 0;
    c.detail = fmt::format("/dev/fuse and {} usable by users{}", *fusermount,
                           allow_other ? " (user_allow_other is on)" : "");
  }
  return c;
}

NodeCheck hwloc() {
  NodeCheck c{"hwloc", {}, {}};
  try {
    auto topology = NodeTopology::discover();
    if (topology.cores.empty() || topology.pu_count == 0)
      c.problem = "hwloc sees no cores here: is /sys mounted?";
    else
      c.detail = fmt::format("{} cores, {} PUs, {} NUMA nodes", topology.cores.size(),
                             topology.pu_count, topology.numa_nodes.size());
  } catch (const std::exception& e) {
    c.problem = std::string("hwloc cannot read this node: ") + e.what();
  }
  return c;
}

NodeCheck job_directories(const LaunchSettings& settings) {
  NodeCheck c{"job dirs", {}, {}};
  fs::path parent = fs::path(settings.job_dir_of("1")).parent_path();
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(parent, ec))) {
    c.detail = parent.string() + " will be made by root at the first job's start";
    return c;
  }
  try {
    check_job_directory_parent(parent.string());
    c.detail = parent.string() + " belongs to root and only root may change it";
  } catch (const JobDirectoryError& e) {
    c.problem = e.what();
  }
  return c;
}

NodeCheck services(const LaunchSettings& settings, const std::string& bin_dir) {
  NodeCheck c{"services", {}, {}};
  std::string dir = settings.services_dir.empty() ? bin_dir + "/../share/converge/services"
                                                  : settings.services_dir;
  auto names = ServiceDescriptor::available(dir);
  if (names.empty()) {
    c.problem = "no service descriptors in " + dir + " (make install)";
    return c;
  }
  std::set<std::string> missing, programs;
  for (const auto& name : names) {
    try {
      auto descriptor = ServiceDescriptor::find(dir, name);
      for (const auto& role : descriptor.roles) {
        const std::string& p = role.program;
        programs.insert(p);
        bool found = p.find('/') != std::string::npos
                         ? access(p.c_str(), X_OK) == 0
                         : access((bin_dir + "/" + p).c_str(), X_OK) == 0 ||
                               process::find_program(p).has_value();
        if (!found) missing.insert(p);
      }
    } catch (const std::exception& e) {
      c.problem = e.what();
      return c;
    }
  }
  if (!missing.empty())
    c.problem =
        fmt::format("{} not found beside {} nor on PATH", fmt::join(missing, ", "), bin_dir);
  else
    c.detail = fmt::format("{} services ({}), {} programs found", names.size(),
                           fmt::join(names, ", "), programs.size());
  return c;
}

}  // namespace

std::vector<NodeCheck> check_node(const NodeCheckSettings& given) {
  NodeCheckSettings s = given;
  if (s.slurm_conf.empty()) {
    const char* env = std::getenv("SLURM_CONF");
    s.slurm_conf = env && *env ? env : "/etc/slurm/slurm.conf";
  }
  if (s.config.empty())
    s.config = (fs::path(s.slurm_conf).parent_path() / "converge.json").string();
  if (s.bin_dir.empty()) s.bin_dir = process::executable_dir();

  std::vector<NodeCheck> checks{slurm_version(), plugins(s.slurm_conf), munge(s.munge_socket),
                                fuse(), hwloc()};
  // sched/converge and the launcher read converge.json beside slurm.conf;
  // without one, the defaults apply.
  LaunchSettings settings;
  std::error_code ec;
  if (fs::exists(s.config, ec)) {
    try {
      settings = LaunchSettings::load(s.config);
      checks.push_back({"config", {}, s.config});
    } catch (const std::exception& e) {
      checks.push_back({"config", std::string(e.what()), {}});
      return checks;
    }
  } else {
    checks.push_back({"config", {}, "no " + s.config + ": the defaults apply"});
  }
  checks.push_back(job_directories(settings));
  checks.push_back(services(settings, s.bin_dir));
  return checks;
}

}  // namespace converge::admin
