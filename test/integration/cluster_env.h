// SPDX-License-Identifier: GPL-2.0-or-later
//
// Helpers for integration tests against the real local cluster that CTest's
// "cluster" fixture brings up (converge-cluster up) and tears down.
#pragma once

#include "converge/poll.h"
#include "converge/process.h"

#include <gtest/gtest.h>

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

// Runs a shell command as a client of the test cluster.
inline process::RunResult sh(const std::string& command, std::vector<std::string> env = {}) {
  env.push_back("SLURM_CONF=" + kSlurmConf);
  return process::run({"/bin/sh", "-c", command}, env);
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
  bool done = poll_until(limit, 50ms, [&] {
    state = sh("scontrol -o show job " + id).output;
    for (const char* end : {"JobState=COMPLETED", "JobState=FAILED", "JobState=CANCELLED",
                            "JobState=TIMEOUT", "JobState=NODE_FAIL", "JobState=OUT_OF_MEMORY"}) {
      if (state.find(end) != std::string::npos) return true;
    }
    return false;
  });
  if (!done) return -1;
  auto at = state.find(" ExitCode=");
  return at == std::string::npos ? -1 : std::stoi(state.substr(at + 10));
}

// Waits until the cluster runs no job (an earlier test's jobs may still be
// ending, slowly under sanitizers).
inline bool cluster_idle(std::chrono::milliseconds limit = std::chrono::minutes(2)) {
  using namespace std::chrono_literals;
  return poll_until(limit, 100ms, [] {
    if (!sh("squeue -h -t R,CG -o %i").output.empty()) return false;
    // Every node idle and responding: a node that is down, drained or
    // silent ("idle*") would make the next test's timing wrong.
    std::istringstream states(sh("sinfo -h -N -o %T").output);
    bool any = false;
    for (std::string state; states >> state; any = true)
      if (state != "idle") return false;
    return any;
  });
}

inline std::set<std::string> job_ids() {
  std::set<std::string> ids;
  std::istringstream out(sh("squeue -h -t all -o %i").output);
  std::string id;
  while (out >> id) ids.insert(id);
  return ids;
}

}  // namespace converge::test
