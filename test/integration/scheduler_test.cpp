// SPDX-License-Identifier: GPL-2.0-or-later
//
// sched/converge's pull side on the real 4-node cluster (8 CPUs): a waiting
// big-data job starts within a second of a CPU freeing, real-time work goes
// ahead of batch work, and bad options are refused.
#include "cluster_env.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <optional>
#include <cstdio>
#include <sstream>

using namespace converge::test;
using namespace std::chrono_literals;

namespace {

int running_jobs() {
  std::istringstream out(sh("squeue -h -t R -o %i").output);
  int n = 0;
  for (std::string id; out >> id;) ++n;
  return n;
}

// Milliseconds of the day of the first controller log line matching
// `pattern` ("[2026-11-28T03:26:15.726] ...").
std::optional<long> log_time(const std::string& pattern) {
  std::istringstream log(controller_log());
  for (std::string line; std::getline(log, line);) {
    if (line.find(pattern) == std::string::npos) continue;
    int h = 0, m = 0, s = 0, ms = 0;
    if (line.size() < 25 || std::sscanf(line.c_str() + 12, "%d:%d:%d.%d", &h, &m, &s, &ms) != 4)
      continue;
    return ((h * 60L + m) * 60 + s) * 1000 + ms;
  }
  return std::nullopt;
}

// The nodes a job ran on (scontrol's NodeList).
std::string job_nodes(const std::string& id) {
  std::string text = sh("scontrol -o show job " + id).output;
  auto at = text.find(" NodeList=");
  if (at == std::string::npos) return "";
  at += 10;
  return text.substr(at, text.find(' ', at) - at);
}

// Position in the controller log of the line that started a job.
std::optional<std::size_t> start_position(const std::string& id) {
  std::string log = controller_log();
  for (const std::string& needle :
       {"sched/converge: job " + id + " (", "Allocate JobId=" + id + " "}) {
    if (auto at = log.find(needle); at != std::string::npos) return at;
  }
  return std::nullopt;
}

// Fills every CPU of the cluster with big-data jobs that sleep.
std::vector<std::string> fill_cluster(const std::string& seconds) {
  EXPECT_TRUE(cluster_idle());
  std::vector<std::string> ids;
  for (int i = 0; i < 8; ++i)
    ids.push_back(submit("-n1 --converge-type=bigdata --wrap 'sleep " + seconds + "'"));
  EXPECT_TRUE(converge::poll_until(20s, 20ms, [] { return running_jobs() == 8; }));
  return ids;
}

}  // namespace

TEST(Scheduler, AWaitingBigDataJobStartsWithinASecondOfACpuFreeing) {
  auto fillers = fill_cluster("2");
  std::string waiting = submit("-n1 --converge-type=bigdata --wrap true");
  ASSERT_EQ(wait_for_job(waiting), 0);
  std::optional<long> first_done;
  for (const auto& f : fillers) {
    auto t = log_time("_job_complete: JobId=" + f + " done");
    if (t && (!first_done || *t < *first_done)) first_done = t;
  }
  // The pull agent usually starts it; when the freed CPU reaches Slurm's own
  // scheduler first (it runs on every job completion), that one does.
  auto started = log_time("sched/converge: job " + waiting + " (batch) pulled by");
  if (!started) started = log_time("sched: Allocate JobId=" + waiting + " ");
  ASSERT_TRUE(first_done && started) << controller_log().substr(controller_log().size() - 3000);
  EXPECT_GE(*started, *first_done);
  EXPECT_LT(*started - *first_done, 1000)
      << "started " << *started - *first_done << " ms after a CPU freed";
  for (const auto& f : fillers) wait_for_job(f);
}

TEST(Scheduler, RealTimeBigDataWorkOvertakesBatchWork) {
  auto fillers = fill_cluster("2");
  std::vector<std::string> batch;
  for (int i = 0; i < 4; ++i) batch.push_back(submit("-n1 --converge-type=bigdata --wrap true"));
  std::string realtime =
      submit("-n1 --converge-type=bigdata --converge-priority=realtime --wrap true");
  for (const auto& id : batch) ASSERT_EQ(wait_for_job(id), 0);
  ASSERT_EQ(wait_for_job(realtime), 0);
  auto rt = start_position(realtime);
  ASSERT_TRUE(rt);
  for (const auto& id : batch) {
    auto b = start_position(id);
    ASSERT_TRUE(b) << id;
    EXPECT_LT(*rt, *b) << "batch job " << id << " started before the real-time job " << realtime;
  }
  // The pull agent usually starts it; when a freed CPU reaches Slurm's own
  // scheduler first, that one starts it ahead of the rest because the agent
  // gave it the real-time priority (0xfffffff0).
  bool pulled = controller_log_shows("sched/converge: job " + realtime + " (realtime) pulled by");
  auto shown = sh("scontrol -o show job " + realtime).output;
  EXPECT_TRUE(pulled || shown.find(" Priority=4294967280 ") != std::string::npos) << shown;
  for (const auto& f : fillers) wait_for_job(f);
}

TEST(Scheduler, BadPullOptionsAreRefusedBeforeAJobExists) {
  auto before = job_ids();
  auto bad = sh("sbatch --converge-type=bigdata --converge-priority=urgent --wrap true 2>&1");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("invalid --converge-priority \"urgent\": expected realtime or batch"),
            std::string::npos)
      << bad.output;
  auto relative = sh("sbatch --converge-type=bigdata --converge-data=data/x --wrap true 2>&1");
  EXPECT_NE(relative.exit_code, 0);
  EXPECT_NE(relative.output.find("expected an absolute path"), std::string::npos)
      << relative.output;
  EXPECT_EQ(job_ids(), before);
}

TEST(Scheduler, OddConvergeJobsNeverUpsetTheController) {
  // Shapes the pull side must leave to Slurm, or refuse, without harm.
  std::vector<std::string> ids;
  for (const std::string& args : std::vector<std::string>{
           "-N2 --converge-type=bigdata --wrap true",                   // multi-node: pushed
           "-n1 --converge-type=bigdata --hold --wrap true",            // held
           "-n1 --converge-type=bigdata --array=1-3 --wrap true",       // an array
           "-n1 --converge-type=bigdata --begin=now+3600 --wrap true",  // not yet eligible
           "-n1 --converge-type=bigdata --converge-data=/" + std::string(3000, 'x') +
               " --wrap true",
           "-n1 --converge-type=ai --converge-priority=realtime --wrap true"}) {
    ids.push_back(submit(args));
  }
  std::string dependent =
      submit("-n1 --converge-type=bigdata --dependency=afterok:" + ids[3] + " --wrap true");
  // The ones that can run do; the controller keeps answering.
  for (std::size_t i : {0u, 4u, 5u}) EXPECT_EQ(wait_for_job(ids[i]), 0) << ids[i];
  EXPECT_EQ(sh("scontrol ping").exit_code, 0);
  EXPECT_NE(sh("squeue -h -j " + ids[1] + " -o %t").output.find("PD"), std::string::npos);  // held
  EXPECT_NE(sh("squeue -h -j " + ids[3] + " -o %t").output.find("PD"), std::string::npos);  // begin
  EXPECT_NE(sh("squeue -h -j " + dependent + " -o %t").output.find("PD"), std::string::npos);
  // A held job released later runs (whichever scheduler gets to it first).
  ASSERT_EQ(sh("scontrol release " + ids[1]).exit_code, 0);
  EXPECT_EQ(wait_for_job(ids[1]), 0);
  sh("scancel " + ids[3] + " " + dependent);
  EXPECT_EQ(wait_for_job(ids[2] + "_1"), 0);
}

TEST(Scheduler, PendingBigDataJobsSurviveAControllerRestart) {
  // Long enough that the waiting jobs are surely still pending when the
  // controller goes: a job allocated in the instant before it stops may lose
  // its launch message with it, and that is Slurm's business, not this test's.
  auto fillers = fill_cluster("8");
  std::vector<std::string> waiting;
  for (int i = 0; i < 3; ++i)
    waiting.push_back(
        submit("-n1 --converge-type=bigdata --converge-priority=realtime --wrap true"));
  for (const auto& id : waiting)
    ASSERT_NE(sh("squeue -h -t PD -j " + id + " -o %i").output, "") << id << " is not pending";
  auto ctld = converge::process::read_pid_file(kClusterDir + "/run/slurmctld.pid");
  ASSERT_TRUE(ctld);
  kill(ctld->pid, SIGTERM);
  ASSERT_TRUE(converge::poll_until(30s, 50ms, [&] { return !converge::process::alive(*ctld); }));
  auto up = admin(cluster_cmd("up"));
  ASSERT_EQ(up.exit_code, 0) << up.output;
  for (const auto& id : waiting) EXPECT_EQ(wait_for_job(id), 0) << id;
  for (const auto& f : fillers) EXPECT_EQ(wait_for_job(f), 0) << f;
  // Their class survived: the restarted controller pulled them as real-time work.
  for (const auto& id : waiting) {
    EXPECT_TRUE(controller_log_shows("job " + id + " (realtime) pulled by") ||
                controller_log_shows("Allocate JobId=" + id + " "))
        << id;
  }
}

TEST(Scheduler, ABigDataJobRunsWhereItsDataIs) {
  // The admin's locality map, named in the cluster's converge.json.
  std::string map = kClusterDir + "/etc/locality.json";
  std::ofstream(map) << R"({"/datasets/climate": ["n3"], "/datasets/genomes/": ["n4"]})";
  std::string config = kClusterDir + "/etc/converge.json";
  auto json = nlohmann::json::parse(read_file(config));
  json["scheduler"]["locality_map"] = map;
  std::ofstream(config) << json.dump(2);
  ASSERT_EQ(admin("scontrol reconfigure").exit_code, 0);
  ASSERT_TRUE(controller_log_shows("locality map " + map + " (2 prefixes)"));

  for (const auto& [data, node] : std::vector<std::pair<std::string, std::string>>{
           {"/datasets/climate/2026/t2m.nc", "n3"}, {"/datasets/genomes/chr1.fa", "n4"}}) {
    std::string id = submit("-n1 --converge-type=bigdata --converge-data=" + data + " --wrap true");
    ASSERT_EQ(wait_for_job(id), 0);
    // Usually a node holding the data pulls it; if Slurm's own scheduler
    // gets to it first (a loaded controller), select/converge still places
    // it there.
    EXPECT_EQ(job_nodes(id), node) << data;
    EXPECT_TRUE(controller_log_shows("sched/converge: job " + id + " (batch) pulled by " + node) ||
                controller_log_shows("select/converge: job " + id +
                                     " class=bigdata placed near its data on " + node))
        << data;
  }
  // A broken map keeps the last good policy.
  std::ofstream(map) << "{\"/datasets/x\": \"n1\"}";
  ASSERT_EQ(admin("scontrol reconfigure").exit_code, 0);
  EXPECT_TRUE(controller_log_shows(map + ": /~1datasets~1x: expected an array"));  // JSON pointer
  EXPECT_TRUE(controller_log_shows("keeping the previous settings"));
  json["scheduler"].erase("locality_map");
  std::ofstream(config) << json.dump(2);
  admin("scontrol reconfigure");
}

TEST(Scheduler, ABigDataJobRunsWhereKapokPutItsData) {
  ASSERT_TRUE(cluster_idle());
  // The job records where its data is in a map its user may write; the
  // admin tells the controller to read it (reconfigure is root's).
  std::string map = user_dir(kClusterDir + "/test-output/locality") + "/kapok-locality.json";
  std::ofstream(map) << "{}";
  std::string config = kClusterDir + "/etc/converge.json";
  auto json = nlohmann::json::parse(read_file(config));
  json["scheduler"]["locality_map"] = map;
  std::ofstream(config) << json.dump(2);
  ASSERT_EQ(admin("scontrol reconfigure").exit_code, 0);

  // A job with Kapok on every node writes a file (one stripe: one data
  // server holds it) and records where it is.
  std::string out = user_dir(kClusterDir + "/test-output") + "/kapok-locality.out";
  std::remove(out.c_str());
  std::string service =
      submit("-o " + out +
             " -N4 --ntasks-per-node=1 --converge-services=kapok --wrap 'set -e; "
             "mkdir -p $CONVERGE_KAPOK_MOUNT/input; "
             "head -c 300000 /dev/urandom > $CONVERGE_KAPOK_MOUNT/input/part-0; " +
             kBinDir + "/converge-admin locality --map " + map +
             " /input/part-0; echo LOCALITY-DONE; sleep 300'");
  ASSERT_TRUE(converge::poll_until(120s, 100ms, [&] {
    return read_file(out).find("LOCALITY-DONE") != std::string::npos ||
           wait_for_job(service, 1ms) != -1;
  }));
  ASSERT_NE(read_file(out).find("LOCALITY-DONE"), std::string::npos) << read_file(out);
  ASSERT_EQ(admin("scontrol reconfigure").exit_code, 0);
  auto holders = nlohmann::json::parse(read_file(map))["/input/part-0"];
  ASSERT_EQ(holders.size(), 1u) << holders.dump();
  std::string node = holders[0].get<std::string>();
  ASSERT_TRUE(controller_log_shows("locality map " + map + " (1 prefixes)"));

  // Every node has a CPU free beside the service; the job goes to its data.
  std::string id = submit("-n1 --converge-type=bigdata --converge-data=/input/part-0 --wrap true");
  ASSERT_EQ(wait_for_job(id), 0);
  EXPECT_EQ(job_nodes(id), node);
  EXPECT_TRUE(controller_log_shows("sched/converge: job " + id + " (batch) pulled by " + node) ||
              controller_log_shows("select/converge: job " + id +
                                   " class=bigdata placed near its data on " + node))
      << node;
  sh("scancel " + service);
  json["scheduler"].erase("locality_map");
  std::ofstream(config) << json.dump(2);
  admin("scontrol reconfigure");
  EXPECT_TRUE(cluster_idle());
}

TEST(Scheduler, ConvergeAdminShowsTheQueueAndRecentDecisions) {
  // A job that Slurm's own scheduler happens to start first (it runs on
  // submissions too) is no decision of the pull agent's: take another.
  std::string id;
  for (int attempt = 0; attempt < 5; ++attempt) {
    id = submit("-n1 --converge-type=bigdata --converge-priority=realtime --wrap true");
    ASSERT_EQ(wait_for_job(id), 0);
    if (log_time("sched/converge: job " + id + " (realtime) pulled by")) break;
  }
  // The status is written at most once a second.
  std::string out;
  ASSERT_TRUE(converge::poll_until(10s, 100ms, [&] {
    out = admin(kBinDir + "/converge-admin status 2>&1").output;
    return out.find("job " + id) != std::string::npos;
  })) << out;
  EXPECT_NE(out.find("pull queue: "), std::string::npos) << out;
  EXPECT_NE(out.find("realtime  real-time work goes first"), std::string::npos) << out;
  auto json = admin(kBinDir + "/converge-admin status --json");
  ASSERT_EQ(json.exit_code, 0);
  EXPECT_GE(nlohmann::json::parse(json.output)["pull"]["pulled"].get<long>(), 1);
  EXPECT_NE(admin(kBinDir + "/converge-admin frobnicate 2>&1").exit_code, 0);
}

TEST(Scheduler, RealtimeAndHeavyAreRefusedAtSubmissionToUsersTheSiteDoesNotList) {
  // The test user is listed (converge-cluster up --grant); nobody is not.
  for (const char* option : {"--converge-priority=realtime", "--converge-comm=heavy"}) {
    auto refused = admin(std::string("sbatch --uid=nobody --parsable -o /dev/null -n1 "
                                     "--converge-type=bigdata ") +
                         option + " --wrap true 2>&1");
    EXPECT_NE(refused.exit_code, 0) << refused.output;
    EXPECT_NE(refused.output.find("not allowed for user nobody"), std::string::npos)
        << refused.output;
    EXPECT_NE(refused.output.find(option), std::string::npos) << refused.output;
  }
  // The same job without them is accepted; so is the listed user's.
  auto plain = admin(
      "sbatch --uid=nobody --parsable -o /dev/null -n1 --converge-type=bigdata "
      "--wrap true 2>&1");
  EXPECT_EQ(plain.exit_code, 0) << plain.output;
  if (plain.exit_code == 0)
    admin("scancel " + plain.output.substr(0, plain.output.find_first_of(";\n")));
  EXPECT_EQ(
      wait_for_job(submit("-n1 --converge-type=bigdata --converge-priority=realtime --wrap true")),
      0);
}
