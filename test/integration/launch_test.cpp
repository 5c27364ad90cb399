// SPDX-License-Identifier: GPL-2.0-or-later
//
// converge-launch on the real 4-node local cluster: Kapok brought up inside
// allocations (by hand and through sbatch --converge-services), failures,
// and nothing left behind after down, scancel or a killed service step.
#include "cluster_env.h"

#include "converge/launch_settings.h"
#include "converge/mounts.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>

using namespace converge::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace process = converge::process;

namespace {

const std::string kLaunch = kBinDir + "/converge-launch";
const std::string kNodes[] = {"n1", "n2", "n3", "n4"};

std::string test_dir() {
  return user_dir(kClusterDir + "/test-output/launch");
}

struct Job {
  std::string id;
  int exit_code = -1;  // of sbatch --wait: the job's
  std::string output;
};

// Submits a batch script and waits for it.
Job run_batch(const std::string& name, const std::string& options, const std::string& body) {
  std::string script = test_dir() + "/" + name + ".sh", out = test_dir() + "/" + name + ".out";
  std::ofstream(script) << "#!/bin/sh\nPATH=" << kBinDir << ":$PATH\n" << body << "\n";
  fs::permissions(script, fs::perms::owner_all, fs::perm_options::add);
  fs::remove(out);
  auto submit = sh("sbatch --parsable -o " + out + " " + options + " " + script);
  Job job;
  job.id = submit.output.substr(0, submit.output.find_first_of(";\n"));
  job.exit_code = submit.exit_code == 0 ? wait_for_job(job.id) : -1;
  job.output = read_file(out);
  return job;
}

std::string job_dir(const std::string& id) {
  return kClusterDir + "/jobs/" + id;
}

// Processes marked as services of the job on any node, and mounts under its directory.
std::vector<std::string> leftovers(const std::string& id) {
  std::vector<std::string> left;
  for (const auto& node : kNodes) {
    for (const auto& p : process::find_by_environment(converge::service_marker(id, node)))
      left.push_back(fmt::format("{} process {}", node, p.pid));
  }
  std::ifstream mounts("/proc/self/mounts");
  std::string device, where, rest;
  while (mounts >> device >> where && std::getline(mounts, rest)) {
    if (where.rfind(job_dir(id) + "/", 0) == 0) left.push_back("mount " + where);
  }
  return left;
}

bool nothing_left(const std::string& id) {
  // The service step's slurmstepd cleans up after the job is reported done: wait for it.
  return converge::poll_until(20s, 50ms, [&] { return leftovers(id).empty(); });
}

// Inside a job script: counts the job's service processes and mounts left.
const std::string kCountLeftovers = R"SH(
left=0
for p in /proc/[0-9]*; do
  { tr '\0' '\n' < $p/environ; } 2>/dev/null | grep -q "^CONVERGE_SERVICE_OF=$SLURM_JOB_ID/" && \
    ! grep -q '^State:.*Z' $p/status 2>/dev/null && left=$((left+1))
done
echo "LEFT=$left MOUNTS=$(grep -c " $CONVERGE_JOB_DIR/" /proc/mounts)"
)SH";

// A configuration whose descriptor directory also holds services that fail.
std::string failing_services_config() {
  std::string dir = test_dir() + "/services";
  fs::create_directories(dir);
  fs::copy_file(kBinDir + "/../share/converge/services/kapok.json", dir + "/kapok.json",
                fs::copy_options::overwrite_existing);
  // Healthy ranks mark themselves ready; rank 2 fails before it can.
  std::ofstream(dir + "/crashy.json") << R"SH({
  "name": "crashy",
  "roles": [{"name": "server", "program": "sh", "ports": 1, "directories": ["@SERVICE_DIR@"],
             "args": ["-c", "if [ @RANK@ -eq 2 ]; then echo cannot bind @HOST@:@PORT@ >&2; exit 3; fi; touch @SERVICE_DIR@/ok-@NODE@; exec sleep 600"],
             "ready": {"command": ["test", "-e", "@SERVICE_DIR@/ok-@NODE@"]}}]
})SH";
  std::ofstream(dir + "/stuck.json") << R"SH({
  "name": "stuck",
  "roles": [{"name": "server", "program": "sleep", "args": ["600"], "ready": {"command": ["false"]}}]
})SH";
  nlohmann::json config{{"launcher",
                         {{"job_dir", kClusterDir + "/jobs/%j"},
                          {"listen_host", "auto"},
                          {"services_dir", dir},
                          {"ready_timeout_ms", 1500}}}};
  std::string path = test_dir() + "/failing.json";
  std::ofstream(path) << config.dump(2);
  return path;
}

}  // namespace

TEST(Launch, UpAndDownOnFourNodesWithKapokMountedEverywhere) {
  Job job = run_batch("updown", "-N4", R"SH(set -e
converge-launch up --services kapok
srun -N4 --ntasks-per-node=1 sh -c 'echo from-$SLURMD_NODENAME > $CONVERGE_KAPOK_MOUNT/$SLURMD_NODENAME.txt'
srun -N4 --ntasks-per-node=1 sh -c 'echo "$SLURMD_NODENAME sees $(cat $CONVERGE_KAPOK_MOUNT/*.txt | tr "\n" " ")"'
converge-launch status
converge-launch down
)SH" + kCountLeftovers);
  ASSERT_EQ(job.exit_code, 0) << job.output;
  EXPECT_NE(job.output.find("kapok ready on 4 nodes"), std::string::npos) << job.output;
  for (const auto& node : kNodes) {
    EXPECT_NE(job.output.find(node + " sees from-n1 from-n2 from-n3 from-n4"), std::string::npos)
        << job.output;
  }
  EXPECT_NE(job.output.find("stopped kapok on 4 nodes"), std::string::npos) << job.output;
  EXPECT_NE(job.output.find("LEFT=0 MOUNTS=0"), std::string::npos) << job.output;  // down did it

  auto endpoints = nlohmann::json::parse(read_file(job_dir(job.id) + "/endpoints.json"));
  ASSERT_EQ(endpoints["services"]["kapok"]["server"].size(), 4u) << endpoints.dump(2);
  std::set<std::string> nodes, ports;
  for (const auto& s : endpoints["services"]["kapok"]["server"]) {
    nodes.insert(s["node"].get<std::string>());
    ports.insert(s["endpoint"].get<std::string>());
  }
  EXPECT_EQ(nodes.size(), 4u);
  EXPECT_EQ(ports.size(), 4u);
  auto members = nlohmann::json::parse(read_file(job_dir(job.id) + "/kapok/members.json"));
  EXPECT_EQ(members["mds"].size(), 4u);
  EXPECT_TRUE(nothing_left(job.id)) << fmt::format("{}", fmt::join(leftovers(job.id), ", "));
}

TEST(Launch, SbatchConvergeServicesBringsThemUpBeforeTheScriptAndDownAfter) {
  Job job = run_batch("sbatch-services", "-N4 --converge-services=kapok", R"SH(
srun -N4 --ntasks-per-node=1 sh -c 'grep -q " $CONVERGE_KAPOK_MOUNT fuse.kapok" /proc/mounts && echo mounted-on-$SLURMD_NODENAME'
test -s "$CONVERGE_ENDPOINTS" && echo ENDPOINTS-OK
)SH");
  ASSERT_EQ(job.exit_code, 0) << job.output;
  for (const auto& node : kNodes)
    EXPECT_NE(job.output.find("mounted-on-" + node), std::string::npos) << job.output;
  EXPECT_NE(job.output.find("ENDPOINTS-OK"), std::string::npos) << job.output;
  EXPECT_NE(read_file(job_dir(job.id) + "/logs/launch.log").find("kapok ready on 4 nodes"),
            std::string::npos);
  EXPECT_TRUE(nothing_left(job.id)) << fmt::format("{}", fmt::join(leftovers(job.id), ", "));
}

TEST(Launch, AServiceThatFailsStopsTheWholeBringUp) {
  std::string config = failing_services_config();
  Job job = run_batch("crashy", "-N4",
                      "converge-launch up --services kapok,crashy --config " + config +
                          " 2>&1; echo UP-EXIT=$?\n" + kCountLeftovers);
  EXPECT_NE(job.output.find("UP-EXIT=1"), std::string::npos) << job.output;
  EXPECT_NE(job.output.find("crashy/server on n3: exited with status 3 before it was ready: "
                            "cannot bind "),
            std::string::npos)
      << job.output;
  EXPECT_NE(job.output.find("LEFT=0 MOUNTS=0"), std::string::npos) << job.output;

  Job stuck = run_batch("stuck", "-N2",
                        "converge-launch up --services stuck --config " + config +
                            " 2>&1; echo UP-EXIT=$?\n" + kCountLeftovers);
  EXPECT_NE(stuck.output.find("UP-EXIT=1"), std::string::npos) << stuck.output;
  EXPECT_NE(stuck.output.find("stuck/server on n1: not ready after 1500 ms"), std::string::npos)
      << stuck.output;
  EXPECT_NE(stuck.output.find("LEFT=0 MOUNTS=0"), std::string::npos) << stuck.output;
}

// A rank that never reaches the bring-up's PMIx fence (stopped with SIGSTOP
// here; on a cluster, a stuck process or a lost PMIx message) ends that
// attempt at the fence's deadline, and `up` starts the service step once more.
TEST(Launch, ARankStalledInTheBringUpIsRetriedOnceAndTheServicesComeUp) {
  nlohmann::json config{{"launcher",
                         {{"job_dir", kClusterDir + "/jobs/%j"},
                          {"listen_host", "auto"},
                          {"ready_timeout_ms", 20000},
                          {"fence_margin_ms", 2000}}}};
  std::string config_path = test_dir() + "/stall.json";
  std::ofstream(config_path) << config.dump(2);
  std::string script = test_dir() + "/stall.sh", out = test_dir() + "/stall.out";
  std::ofstream(script) << "#!/bin/sh\nPATH=" << kBinDir << ":$PATH\n"
                        << "converge-launch up --services kapok --config " << config_path
                        << " 2>&1; echo UP-EXIT=$?\n"
                        << "converge-launch down --config " << config_path << "\n"
                        << kCountLeftovers;
  fs::permissions(script, fs::perms::owner_all, fs::perm_options::add);
  fs::remove(out);
  auto serve_ranks = [](const std::string& id) {
    std::vector<pid_t> ranks;
    for (const auto& p : process::find_by_environment("SLURM_JOB_ID=" + id)) {
      // The ranks, not srun (whose arguments name them too).
      std::string proc = "/proc/" + std::to_string(p.pid);
      std::error_code gone;
      if (fs::read_symlink(proc + "/exe", gone).filename() != "converge-launch") continue;
      if (read_file(proc + "/cmdline").find(std::string("\0serve\0", 7)) != std::string::npos)
        ranks.push_back(p.pid);
    }
    return ranks;
  };
  // Stop one rank as soon as the service step is there; a trial whose
  // bring-up was over first stalls nothing and is run again.
  for (int trial = 0; trial < 3; ++trial) {
    auto submit = sh("sbatch --parsable -N4 -o " + out + " " + script);
    ASSERT_EQ(submit.exit_code, 0) << submit.output;
    std::string id = submit.output.substr(0, submit.output.find_first_of(";\n"));
    std::vector<pid_t> ranks;
    ASSERT_TRUE(converge::poll_until(60s, 2ms, [&] { return !(ranks = serve_ranks(id)).empty(); }))
        << "no rank of the service step of job " << id;
    kill(ranks.back(), SIGSTOP);
    ASSERT_NE(wait_for_job(id, 3min), -1) << "job " << id << " did not end";
    std::string output = read_file(out);
    if (output.find("trying once more") == std::string::npos &&
        output.find("kapok ready on 4 nodes") != std::string::npos)
      continue;
    EXPECT_NE(output.find("PMIx fence"), std::string::npos) << output;
    EXPECT_NE(output.find("trying once more"), std::string::npos) << output;
    EXPECT_NE(output.find("kapok ready on 4 nodes"), std::string::npos) << output;
    EXPECT_NE(output.find("UP-EXIT=0"), std::string::npos) << output;
    EXPECT_NE(output.find("LEFT=0 MOUNTS=0"), std::string::npos) << output;
    EXPECT_TRUE(nothing_left(id));
    // The stopped rank too: srun's --kill-on-bad-exit ended it.
    EXPECT_TRUE(converge::poll_until(
        30s, 50ms, [&] { return process::find_by_environment("SLURM_JOB_ID=" + id).empty(); }))
        << "a process of job " << id << " is still there";
    return;
  }
  FAIL() << "three bring-ups in a row were over before a rank could be stopped";
}

TEST(Launch, ScancelLeavesNoProcessAndNoMountEvenAfterKillNine) {
  auto submit =
      sh("sbatch --parsable -N4 --converge-services=kapok -o /dev/null --wrap 'sleep 600'");
  ASSERT_EQ(submit.exit_code, 0) << submit.output;
  std::string id = submit.output.substr(0, submit.output.find_first_of(";\n"));
  ASSERT_TRUE(converge::poll_until(60s, 50ms, [&] {
    return read_file(job_dir(id) + "/services.json").find("\"ready\"") != std::string::npos;
  }));
  ASSERT_EQ(leftovers(id).size(), 12u);  // a server and a FUSE daemon per node, and 4 mounts
  // Kill the service step's ranks and FUSE daemons outright: nobody unmounts.
  // A process may be gone by the time its program is looked up.
  auto program_of = [](pid_t pid) {
    std::error_code gone;
    return fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", gone).filename().string();
  };
  for (const auto& p : process::find_by_environment("SLURM_JOB_ID=" + id))
    if (program_of(p.pid) == "converge-launch") kill(p.pid, SIGKILL);
  for (const auto& node : kNodes) {
    for (const auto& p : process::find_by_environment(converge::service_marker(id, node)))
      if (program_of(p.pid) == "kapok-fuse") kill(p.pid, SIGKILL);
  }
  ASSERT_EQ(sh("scancel " + id).exit_code, 0);
  ASSERT_TRUE(converge::poll_until(60s, 100ms, [&] {
    return sh("squeue -h -j " + id + " 2>/dev/null").output.find(id) == std::string::npos;
  }));
  EXPECT_TRUE(nothing_left(id)) << fmt::format("{}", fmt::join(leftovers(id), ", "));
}

TEST(Launch, BadUseGivesOneLineErrors) {
  auto outside = process::run({kLaunch, "up", "--services", "kapok"}, {"SLURM_JOB_ID="});
  EXPECT_EQ(outside.exit_code, 1);
  EXPECT_NE(outside.output.find("runs inside a Slurm allocation"), std::string::npos)
      << outside.output;
  auto unknown = process::run({kLaunch, "up", "--services", "hdfs"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.output.find("hdfs"), std::string::npos) << unknown.output;
  auto under_srun = sh("srun -N1 " + kLaunch + " up --services kapok 2>&1");
  EXPECT_NE(under_srun.exit_code, 0);
  EXPECT_NE(under_srun.output.find("not under srun"), std::string::npos) << under_srun.output;
}

namespace {

// Bytes through every switch uplink of the test cluster, both ways together,
// as `converge-cluster links --json` reports them.
std::uint64_t uplink_bytes() {
  auto report = sh(cluster_cmd("links --json"));
  EXPECT_EQ(report.exit_code, 0) << report.output;
  std::uint64_t total = 0;
  std::size_t uplinks = 0;
  const auto parsed = nlohmann::json::parse(report.output);  // outlives the loop
  for (const auto& link : parsed.at("links")) {
    if (link.at("kind").get<std::string>() != "uplink") continue;
    total += link.at("upward_bytes").get<std::uint64_t>() +
             link.at("downward_bytes").get<std::uint64_t>();
    ++uplinks;
  }
  EXPECT_EQ(uplinks, 2u) << report.output;  // two leaves under the spine
  return total;
}

}  // namespace

// Each node is a host of its own on a switch tree (n1, n2 on one leaf; n3,
// n4 on the other): Kapok's data between nodes of different leaves crosses
// both leaves' uplinks, and between nodes of one leaf it stays off them.
TEST(Network, KapokTrafficBetweenLeavesCrossesTheUplinksAndWithinALeafStaysOff) {
  const std::uint64_t kBytes = 16 << 20;
  auto moved = [&](const std::string& nodes) {
    std::string body = fmt::format(R"SH(set -e
dd if=/dev/urandom of=$CONVERGE_KAPOK_MOUNT/data bs=1M count={} 2>/dev/null
srun -N1 -n1 -r1 sh -c 'cksum < $CONVERGE_KAPOK_MOUNT/data' > /dev/null
echo MOVED
)SH",
                                   kBytes >> 20);
    // Around the whole job: its bring-up and Slurm's messages cross too.
    auto before = uplink_bytes();
    Job job = run_batch("traffic-" + nodes, "-N2 -w " + nodes + " --converge-services=kapok", body);
    auto after = uplink_bytes();
    EXPECT_EQ(job.exit_code, 0) << job.output;
    EXPECT_NE(job.output.find("MOVED"), std::string::npos) << job.output;
    return after - before;
  };
  const std::uint64_t across = moved("n1,n3");
  const std::uint64_t within = moved("n1,n2");
  std::cout << fmt::format(
      "bytes on the switch uplinks: a job on n1,n3 (two leaves) {:.1f} MiB, on n1,n2 (one leaf) "
      "{:.1f} MiB, for {} MiB written on one node and read on the other\n",
      across / 1048576.0, within / 1048576.0, kBytes >> 20);
  // Each chunk stored on the other node crosses two uplinks (its leaf's and
  // the other's) once written and once read: about half the chunks live there.
  EXPECT_GT(across, kBytes);
  EXPECT_LT(within, kBytes / 4) << "only the control traffic to the controller crosses";
  EXPECT_GT(across, 4 * within);
}

// n3's link goes down while a job on n1 and n3 has Kapok up: a Kapok client
// on n1 gets a clear error within Kapok's RPC timeout (10 s), not a hang,
// and works again once the link is back; the job itself goes on, as Slurm
// lets a job whose node is briefly unreachable go on.
TEST(Network, AKapokClientFailsClearlyWhileANodesLinkIsDownAndRecoversAfter) {
  const std::string dir = test_dir() + "/link-down";
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::all);
  for (const char* f : {"/ready", "/down", "/errored", "/up"}) fs::remove(dir + f);
  const std::string kapok =
      kBinDir + "/kapok --members $CONVERGE_JOB_DIR/kapok/members.json get /data /dev/null";
  const std::string wait_for =
      "i=0; while [ ! -e " + dir + "/{} ] && [ $i -lt 600 ]; do sleep " + "0.1; i=$((i+1)); done\n";
  std::string body =
      "dd if=/dev/urandom of=$CONVERGE_KAPOK_MOUNT/data bs=1M count=8 2>/dev/null\n" + kapok +
      " && echo READ-BEFORE\ntouch " + dir + "/ready\n" +
      fmt::format(fmt::runtime(wait_for), "down") + "start=$(date +%s)\n" + kapok +
      " 2>&1 && echo GOT-WHILE-DOWN || echo \"ERROR-WHILE-DOWN after " +
      "$(( $(date +%s) - start )) s\"\ntouch " + dir + "/errored\n" +
      fmt::format(fmt::runtime(wait_for), "up") + kapok + " && echo RECOVERED\n";
  auto link = [&](const char* state) {
    return admin(fmt::format("ip -n cv{}-n3 link set eth0 {}", kPortBase, state)).exit_code;
  };
  std::string script = test_dir() + "/link-down.sh", out = test_dir() + "/link-down.out";
  std::ofstream(script) << "#!/bin/sh\n" << body;
  fs::permissions(script, fs::perms::owner_all, fs::perm_options::add);
  fs::remove(out);
  auto submit =
      sh("sbatch --parsable -N2 -w n1,n3 --converge-services=kapok -o " + out + " " + script);
  ASSERT_EQ(submit.exit_code, 0) << submit.output;
  std::string id = submit.output.substr(0, submit.output.find_first_of(";\n"));
  ASSERT_TRUE(converge::poll_until(120s, 100ms, [&] { return fs::exists(dir + "/ready"); }))
      << read_file(out);
  ASSERT_EQ(link("down"), 0);
  std::ofstream(dir + "/down").flush();
  bool errored = converge::poll_until(60s, 100ms, [&] { return fs::exists(dir + "/errored"); });
  EXPECT_EQ(link("up"), 0);
  std::ofstream(dir + "/up").flush();
  ASSERT_TRUE(errored) << "the client was still waiting 60 s after the link went down\n"
                       << read_file(out);
  EXPECT_EQ(wait_for_job(id), 0) << read_file(out);
  std::string output = read_file(out);
  std::cout << output;
  EXPECT_NE(output.find("READ-BEFORE"), std::string::npos) << output;
  auto error_at = output.find("ERROR-WHILE-DOWN after ");
  ASSERT_NE(error_at, std::string::npos) << output;
  int seconds = std::stoi(output.substr(error_at + 23));
  EXPECT_LE(seconds, 30) << "Kapok's RPC timeout is 10 s";
  EXPECT_NE(output.find("unreachable for 10000 ms: Connection timed out"), std::string::npos)
      << output;
  EXPECT_NE(output.find("RECOVERED"), std::string::npos) << output;
}
