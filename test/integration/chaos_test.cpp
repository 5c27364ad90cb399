// SPDX-License-Identifier: GPL-2.0-or-later
//
// Chaos trials on the real 4-node cluster: a user's job whose services are
// cancelled at a random moment, killed with SIGKILL during bring-up or after
// it, crash at start, never become ready, or run into the job's time limit
// never takes a node out of service, leaves no process and no mount behind,
// and the next job starts normally. CONVERGE_CHAOS_TRIALS sets the trials
// per kind (2 in `make test`; launcher/bench/chaos.sh runs 20).
#include "cluster_env.h"

#include "converge/launch_settings.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

using namespace converge::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace process = converge::process;

namespace {

const std::string kServicesDir = kBinDir + "/../share/converge/services";
const std::vector<std::string> kNodes = {"n1", "n2", "n3", "n4"};

int trials_per_kind() {
  const char* v = std::getenv("CONVERGE_CHAOS_TRIALS");
  int n = v ? std::atoi(v) : 2;
  return n > 0 ? n : 2;
}

std::mt19937& rng() {
  static std::mt19937 generator(std::random_device{}());
  return generator;
}

int uniform(int low, int high) {
  return std::uniform_int_distribution<int>(low, high)(rng());
}

// What each kind of trial left behind, over all its trials.
struct Tally {
  int trials = 0, drained = 0, leftover_processes = 0, leftover_mounts = 0, next_job_failed = 0;
};
std::map<std::string, Tally>& tallies() {
  static std::map<std::string, Tally> t;
  return t;
}

std::string job_dir(const std::string& id) {
  return kClusterDir + "/jobs/" + id;
}

std::vector<process::ProcessId> service_processes(const std::string& id) {
  std::vector<process::ProcessId> found;
  for (const auto& node : kNodes) {
    for (const auto& p : process::find_by_environment(converge::service_marker(id, node)))
      found.push_back(p);
  }
  return found;
}

// Any live process of the job: its steps' tasks and its services.
int processes_of(const std::string& id) {
  int n = 0;
  for (const auto& p : process::find_by_environment("SLURM_JOB_ID=" + id)) {
    std::ifstream status("/proc/" + std::to_string(p.pid) + "/status");
    std::string line;
    bool zombie = false;
    while (std::getline(status, line))
      if (line.rfind("State:", 0) == 0) zombie = line.find('Z') != std::string::npos;
    if (!zombie) ++n;
  }
  return n + static_cast<int>(service_processes(id).size());
}

int mounts_of(const std::string& id) {
  std::ifstream mounts("/proc/self/mounts");
  std::string device, where, rest;
  int n = 0;
  while (mounts >> device >> where && std::getline(mounts, rest))
    if (where.rfind(job_dir(id) + "/", 0) == 0) ++n;
  return n;
}

std::string submit_job(const std::string& args) {
  auto r = sh("sbatch --parsable " + args);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.output.substr(0, r.output.find_first_of(";\n"));
}

// What a job's bring-up left to read: its launcher and service-step logs,
// the state it reached, and what slurmd logged for its steps.
std::string bring_up_report(const std::string& id) {
  std::string out = "state: " + read_file(job_dir(id) + "/services.json") + "\n";
  for (const char* log : {"launch.log", "service-step.log"})
    out += std::string(log) + ":\n" + read_file(job_dir(id) + "/logs/" + log) + "\n";
  out += sh("grep -h '\\[" + id + "\\.' " + kClusterDir + "/log/slurmd-n*.log | tail -n 30").output;
  return out;
}

bool services_ready(const std::string& id) {
  return read_file(job_dir(id) + "/services.json").find("\"ready\"") != std::string::npos;
}

enum class Ended { wait, already };

// After a trial's job has ended: the checks the issue names, counted.
void check_aftermath(const std::string& kind, const std::string& id, Ended ended = Ended::wait) {
  Tally& t = tallies()[kind];
  ++t.trials;
  if (ended == Ended::wait) {
    EXPECT_NE(wait_for_job(id, 3min), -1) << "job " << id << " did not end";
  }
  // The job's processes and mounts go once slurmstepd has cleaned up; nodes
  // pass through "completing" to idle.
  converge::poll_until(30s, 50ms, [&] { return processes_of(id) == 0 && mounts_of(id) == 0; });
  int processes = processes_of(id), mounts = mounts_of(id);
  t.leftover_processes += processes;
  t.leftover_mounts += mounts;
  EXPECT_EQ(processes, 0) << kind << ": job " << id << " left processes";
  EXPECT_EQ(mounts, 0) << kind << ": job " << id << " left mounts";
  bool idle = cluster_idle(90s);
  auto problems = node_problems();
  t.drained += static_cast<int>(problems.size());
  EXPECT_TRUE(problems.empty()) << kind << ": job " << id << "\n" << drain_report(problems);
  EXPECT_TRUE(idle) << kind << ": after job " << id << "\n" << sh("sinfo -N; squeue").output;
  auto next = sh("srun -N4 --ntasks-per-node=1 -t 1 true 2>&1");
  if (next.exit_code != 0) ++t.next_job_failed;
  EXPECT_EQ(next.exit_code, 0) << kind << ": the job after " << id << ": " << next.output;
}

// Every kind brings up all three services on four nodes; the script would
// run a step and wait, so that the job is still there when it is disturbed.
const std::string kAllServices = "-N4 --converge-services=kapok,topo,tdpipe -o /dev/null";

class Chaos : public testing::Test {
 protected:
  // Services that fail on purpose, where the SPANK plugin's launcher finds
  // them (the cluster's descriptor directory).
  static void SetUpTestSuite() {
    std::ofstream(kServicesDir + "/chaos-crash.json") << R"({
  "name": "chaos-crash",
  "roles": [{"name": "server", "program": "sh",
             "args": ["-c", "echo chaos-crash: failing at start on purpose >&2; exit 3"],
             "ready": {"command": ["false"]}}]
})";
    std::ofstream(kServicesDir + "/chaos-stuck.json") << R"({
  "name": "chaos-stuck",
  "roles": [{"name": "server", "program": "sleep", "args": ["600"],
             "ready": {"command": ["false"], "timeout_ms": 1500}}]
})";
    std::ofstream(kServicesDir + "/chaos-slow.json") << R"({
  "name": "chaos-slow",
  "roles": [{"name": "server", "program": "sleep", "args": ["600"],
             "ready": {"command": ["false"], "timeout_ms": 180000}}]
})";
  }
  static void TearDownTestSuite() {
    for (const char* name : {"chaos-crash", "chaos-stuck", "chaos-slow"})
      fs::remove(kServicesDir + "/" + name + ".json");
    std::cout << "chaos trials (" << trials_per_kind() << " per kind):\n";
    Tally all;
    for (const auto& [kind, t] : tallies()) {
      std::cout << fmt::format(
          "  {:<26} trials {:>3}  drained nodes {}  leftover processes {}  leftover mounts {}  "
          "next job failed {}\n",
          kind, t.trials, t.drained, t.leftover_processes, t.leftover_mounts, t.next_job_failed);
      all.trials += t.trials;
      all.drained += t.drained;
      all.leftover_processes += t.leftover_processes;
      all.leftover_mounts += t.leftover_mounts;
      all.next_job_failed += t.next_job_failed;
    }
    std::cout << fmt::format(
        "chaos total: {} trials, {} drained nodes, {} leftover processes, {} leftover mounts, {} "
        "next jobs failed\n",
        all.trials, all.drained, all.leftover_processes, all.leftover_mounts, all.next_job_failed);
  }
  void SetUp() override { ASSERT_TRUE(cluster_idle()); }
};

TEST_F(Chaos, ScancelAtARandomMomentBeforeTheFirstStep) {
  for (int i = 0; i < trials_per_kind(); ++i) {
    std::string id = submit_job(kAllServices + " --wrap 'srun -N4 true; sleep 60'");
    // Bring-up of the three services takes a few seconds here: the cancel
    // lands anywhere from pending to the first step.
    std::this_thread::sleep_for(std::chrono::milliseconds(uniform(0, 5000)));
    EXPECT_EQ(sh("scancel " + id).exit_code, 0);
    check_aftermath("scancel", id);
  }
}

TEST_F(Chaos, KillNineOfAServiceDuringBringUp) {
  int hit = 0;
  for (int i = 0; i < trials_per_kind(); ++i) {
    std::string id = submit_job(kAllServices + " --wrap 'srun -N4 true; sleep 5'");
    // The first service processes appear; any one of those there then goes.
    std::vector<process::ProcessId> there;
    converge::poll_until(60s, 5ms, [&] {
      there = service_processes(id);
      return !there.empty() || services_ready(id);
    });
    if (!there.empty() && !services_ready(id)) {
      kill(there[uniform(0, static_cast<int>(there.size()) - 1)].pid, SIGKILL);
      ++hit;
    }
    check_aftermath("kill -9 during bring-up", id);
  }
  EXPECT_GT(hit, 0) << "no trial caught the bring-up in progress";
}

TEST_F(Chaos, KillNineOfAServiceAfterReadiness) {
  for (int i = 0; i < trials_per_kind(); ++i) {
    std::string id = submit_job(kAllServices + " --wrap 'srun -N4 true; sleep 5'");
    // converge-launch up's own limit: a stalled first attempt is retried.
    ASSERT_TRUE(converge::poll_until(150s, 20ms, [&] { return services_ready(id); }))
        << "services of job " << id << " never ready\n"
        << bring_up_report(id);
    auto there = service_processes(id);
    ASSERT_FALSE(there.empty());
    kill(there[uniform(0, static_cast<int>(there.size()) - 1)].pid, SIGKILL);
    check_aftermath("kill -9 after readiness", id);
  }
}

TEST_F(Chaos, AServiceThatCrashesAtStartFailsTheJobNotTheNode) {
  std::string out = user_dir(kClusterDir + "/test-output/chaos");
  for (int i = 0; i < trials_per_kind(); ++i) {
    std::string file = out + "/crash-" + std::to_string(i) + ".out";
    std::string id = submit_job("-N2 --converge-services=chaos-crash -o " + file +
                                " --wrap 'echo THE-SCRIPT-RAN'");
    EXPECT_EQ(wait_for_job(id), 1);
    std::string output = read_file(file);
    EXPECT_NE(output.find("converge: the job's services did not start"), std::string::npos)
        << output;
    EXPECT_NE(output.find("chaos-crash: failing at start on purpose"), std::string::npos) << output;
    EXPECT_EQ(output.find("THE-SCRIPT-RAN"), std::string::npos) << output;
    auto job = sh("scontrol -o show job " + id).output;
    EXPECT_NE(job.find("JobState=FAILED"), std::string::npos) << job;
    EXPECT_NE(job.find("Comment=converge: services failed: chaos-crash/server on n"),
              std::string::npos)
        << job;
    check_aftermath("service crashes at start", id);
  }
}

TEST_F(Chaos, AServiceThatNeverBecomesReadyFailsTheJobNotTheNode) {
  std::string out = user_dir(kClusterDir + "/test-output/chaos");
  for (int i = 0; i < trials_per_kind(); ++i) {
    std::string file = out + "/stuck-" + std::to_string(i) + ".out";
    std::string id = submit_job("-N2 --converge-services=chaos-stuck -o " + file +
                                " --wrap 'echo THE-SCRIPT-RAN'");
    EXPECT_EQ(wait_for_job(id), 1);
    std::string output = read_file(file);
    EXPECT_NE(output.find("not ready after 1500 ms"), std::string::npos) << output;
    EXPECT_EQ(output.find("THE-SCRIPT-RAN"), std::string::npos) << output;
    check_aftermath("service never ready", id);
  }
}

TEST_F(Chaos, TheTimeLimitExpiringDuringBringUpEndsTheJobNotTheNode) {
  // Slurm's limits are whole minutes, checked every 30 s: all trials run at
  // once, one node each, with a service that would take 3 minutes to fail.
  std::vector<std::string> ids;
  for (int i = 0; i < trials_per_kind(); ++i)
    ids.push_back(
        submit_job("-N1 -n1 -t 1 --converge-services=chaos-slow -o /dev/null "
                   "--wrap 'echo THE-SCRIPT-RAN'"));
  for (const auto& id : ids) {
    EXPECT_NE(wait_for_job(id, 4min), -1);
    auto job = sh("scontrol -o show job " + id).output;
    EXPECT_NE(job.find("JobState=TIMEOUT"), std::string::npos) << job;
  }
  for (const auto& id : ids) check_aftermath("time limit during bring-up", id, Ended::already);
}

}  // namespace
