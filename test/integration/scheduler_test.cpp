// SPDX-License-Identifier: GPL-2.0-or-later
//
// sched/converge's pull side on the real 4-node cluster (8 CPUs): a waiting
// big-data job starts within a second of a CPU freeing, real-time work goes
// ahead of batch work, and bad options are refused.
#include "cluster_env.h"

#include <gtest/gtest.h>

#include <optional>
#include <regex>
#include <sstream>

using namespace converge::test;
using namespace std::chrono_literals;

namespace {

std::string submit(const std::string& args) {
  auto r = sh("sbatch --parsable -o /dev/null " + args);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.output.substr(0, r.output.find_first_of(";\n"));
}

int running_jobs() {
  std::istringstream out(sh("squeue -h -t R -o %i").output);
  int n = 0;
  for (std::string id; out >> id;) ++n;
  return n;
}

// Milliseconds of the day of the first controller log line matching `pattern`.
std::optional<long> log_time(const std::string& pattern) {
  std::istringstream log(controller_log());
  std::regex stamp(R"(^\[\d{4}-\d\d-\d\dT(\d\d):(\d\d):(\d\d)\.(\d{3})\])");
  for (std::string line; std::getline(log, line);) {
    if (line.find(pattern) == std::string::npos) continue;
    std::smatch m;
    if (!std::regex_search(line, m, stamp)) continue;
    return ((std::stol(m[1]) * 60 + std::stol(m[2])) * 60 + std::stol(m[3])) * 1000 +
           std::stol(m[4]);
  }
  return std::nullopt;
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
  auto pulled = log_time("sched/converge: job " + waiting + " (batch) pulled by");
  ASSERT_TRUE(first_done && pulled) << controller_log().substr(controller_log().size() - 3000);
  EXPECT_GE(*pulled, *first_done);
  EXPECT_LT(*pulled - *first_done, 1000)
      << "pulled " << *pulled - *first_done << " ms after a CPU freed";
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
  EXPECT_TRUE(controller_log_shows("sched/converge: job " + realtime + " (realtime) pulled by"));
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
