// SPDX-License-Identifier: GPL-2.0-or-later
//
// Helpers for integration tests against the real local cluster that CTest's
// "cluster" fixture brings up (converge-cluster up) and tears down.
#pragma once

#include "cluster_health.h"

#include "converge/poll.h"
#include "converge/process.h"

#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <filesystem>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace converge::test {

inline const std::string kBinDir = CONVERGE_BIN_DIR;
inline const std::string kClusterDir = TEST_CLUSTER_DIR;
inline const std::string kPortBase = TEST_PORT_BASE;
inline const std::string kSlurmConf = kClusterDir + "/etc/slurm.conf";
inline const std::string kMarker = "CONVERGE_CLUSTER_DIR=" + kClusterDir;
// A node's network namespace (the cluster is up with --hosts: each node a
// host of its own, launcher/cluster/virtual_network.h).
inline std::string node_namespace(const std::string& node) {
  return "/run/netns/cv" + kPortBase + "-" + node;
}
// Jobs are submitted as this unprivileged user (made by the cluster fixture,
// scripts/job-user.sh), as a site's users submit them; root is for admin
// actions only.
inline const std::string kTestUser = TEST_USER;

// Runs a shell command as the test user, a client of the test cluster.
inline process::RunResult sh(const std::string& command, std::vector<std::string> env = {}) {
  env.push_back("SLURM_CONF=" + kSlurmConf);
  return process::run({"setpriv", "--reuid=" + kTestUser, "--regid=" + kTestUser, "--init-groups",
                       "/bin/sh", "-c", command},
                      env);
}

// Runs a shell command as root: the cluster's admin.
inline process::RunResult admin(const std::string& command, std::vector<std::string> env = {}) {
  env.push_back("SLURM_CONF=" + kSlurmConf);
  return process::run({"/bin/sh", "-c", command}, env);
}

// A directory (and its missing parents) that the test user's jobs may write.
inline std::string user_dir(const std::string& path) {
  namespace fs = std::filesystem;
  std::vector<fs::path> made;
  for (fs::path p = path; !p.empty() && !fs::exists(p); p = p.parent_path()) made.push_back(p);
  fs::create_directories(path);
  const passwd* user = getpwnam(kTestUser.c_str());
  if (!user) throw std::runtime_error("no user " + kTestUser + " (scripts/job-user.sh makes it)");
  made.push_back(path);
  for (const auto& p : made) {
    if (chown(p.c_str(), user->pw_uid, user->pw_gid) != 0)
      throw std::runtime_error("cannot give " + p.string() + " to " + kTestUser);
  }
  return path;
}

// Submits a batch job (output discarded unless -o is given) and returns its id.
inline std::string submit(const std::string& args) {
  auto r = sh("sbatch --parsable -o /dev/null " + args);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.output.substr(0, r.output.find_first_of(";\n"));
}

inline std::string cluster_cmd(const std::string& args) {
  return kBinDir + "/converge-cluster --dir " + kClusterDir + " " + args;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline std::string controller_log() {
  return read_file(kClusterDir + "/log/slurmctld.log");
}

inline std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
    ++n;
  return n;
}

// Waits (bounded) until the controller's log holds `needle` at least `times` times.
inline bool controller_log_shows(const std::string& needle, std::size_t times = 1) {
  using namespace std::chrono_literals;
  return poll_until(20s, 100ms, [&] { return count_of(controller_log(), needle) >= times; });
}

// Waits for a job to finish (polling: sbatch --wait sleeps up to 10 s
// between its checks) and returns its exit code, or -1 if it did not end.
inline int wait_for_job(const std::string& id,
                        std::chrono::milliseconds limit = std::chrono::minutes(3)) {
  using namespace std::chrono_literals;
  std::string state;
  auto next_health_check = std::chrono::steady_clock::now();
  bool out_of_service = false;
  bool done = poll_until(limit, 50ms, [&] {
    // A pending job that waits for a drained node would wait forever.
    if (std::chrono::steady_clock::now() >= next_health_check) {
      next_health_check += 1s;
      if (auto problems = node_problems(); !problems.empty()) {
        ADD_FAILURE() << "a node is out of service while job " << id << " waits:\n"
                      << drain_report(problems);
        out_of_service = true;
        return true;
      }
    }
    state = sh("scontrol -o show job " + id).output;
    // The controller forgets a job MinJobAge (60 s) after it ended.
    if (state.find("Invalid job id") != std::string::npos) {
      ADD_FAILURE() << "job " << id << " is no longer known: it ended over a minute ago";
      return true;
    }
    for (const char* end : {"JobState=COMPLETED", "JobState=FAILED", "JobState=CANCELLED",
                            "JobState=TIMEOUT", "JobState=NODE_FAIL", "JobState=OUT_OF_MEMORY"}) {
      if (state.find(end) != std::string::npos) return true;
    }
    return false;
  });
  if (!done || out_of_service) return -1;
  auto at = state.find(" ExitCode=");
  return at == std::string::npos ? -1 : std::stoi(state.substr(at + 10));
}

// Waits until the cluster runs no job (an earlier test's jobs may still be
// ending, slowly under sanitizers).
inline bool cluster_idle(std::chrono::milliseconds limit = std::chrono::minutes(2)) {
  using namespace std::chrono_literals;
  bool out_of_service = false;
  bool idle = poll_until(limit, 100ms, [&] {
    if (auto problems = node_problems(); !problems.empty()) {
      ADD_FAILURE() << "a node is out of service:\n" << drain_report(problems);
      out_of_service = true;
      return true;
    }
    if (!sh("squeue -h -t R,CG -o %i").output.empty()) return false;
    // Every node idle and responding: a node that is down, drained or
    // silent ("idle*") would make the next test's timing wrong.
    std::istringstream states(sh("sinfo -h -N -o %T").output);
    bool any = false;
    for (std::string state; states >> state; any = true)
      if (state != "idle") return false;
    return any;
  });
  return idle && !out_of_service;
}

inline std::set<std::string> job_ids() {
  std::set<std::string> ids;
  std::istringstream out(sh("squeue -h -t all -o %i").output);
  std::string id;
  while (out >> id) ids.insert(id);
  return ids;
}

}  // namespace converge::test
