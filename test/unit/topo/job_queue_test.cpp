// SPDX-License-Identifier: GPL-2.0-or-later
#include "topo/service/client.h"
#include "topo/service/job_queue.h"
#include "topo/service/task_paths.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

using namespace topo::service;
using namespace std::chrono_literals;
using Json = nlohmann::json;

TEST(TopoJobQueue, TasksGoOutInOrderAndResultsComeBackByIndex) {
  JobQueue q;
  auto job = q.submit("field-stats", {Json{{"path", "a"}}, Json{{"path", "b"}}});
  auto first = q.next("w1", 0ms), second = q.next("w2", 0ms);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->params["path"], "a");
  EXPECT_EQ(second->index, 1u);
  EXPECT_FALSE(q.next("w3", 0ms));
  EXPECT_EQ(q.status(job)->state, JobState::running);
  EXPECT_EQ(q.complete(job, 1, "w2", 20), Report::accepted);  // out of order
  EXPECT_EQ(q.complete(job, 0, "w1", 10), Report::accepted);
  auto s = q.status(job);
  ASSERT_EQ(s->state, JobState::done);
  EXPECT_EQ(s->results, (std::vector<Json>{10, 20}));
  EXPECT_EQ(s->finished, 2u);
}

TEST(TopoJobQueue, AnEmptyJobIsDoneAtOnce) {
  JobQueue q;
  EXPECT_EQ(q.status(q.submit("x", {}))->state, JobState::done);
}

TEST(TopoJobQueue, AFailedTaskFailsItsJobAndNamesTheWorker) {
  JobQueue q;
  auto job = q.submit("app", {Json::object(), Json::object(), Json::object()});
  auto t = q.next("node3:77", 0ms);
  EXPECT_EQ(q.fail(job, t->index, "node3:77", "no such file"), Report::accepted);
  auto s = q.status(job);
  EXPECT_EQ(s->state, JobState::failed);
  EXPECT_EQ(s->error, "task 0 on node3:77: no such file");
  EXPECT_FALSE(q.next("w", 0ms)) << "the failed job's other tasks are dropped";
  EXPECT_EQ(q.complete(99, 0, "w", 1), Report::unknown);
  EXPECT_EQ(q.fail(job, 7, "w", "x"), Report::unknown);
}

TEST(TopoJobQueue, ATaskWhoseWorkerVanishesGoesBackAfterItsLease) {
  JobQueue q(50ms);
  auto job = q.submit("app", {Json::object()});
  ASSERT_TRUE(q.next("dies", 0ms));
  EXPECT_FALSE(q.next("other", 0ms));
  auto again = q.next("other", 2s);  // waits past the lease
  ASSERT_TRUE(again);
  EXPECT_EQ(again->job, job);
  EXPECT_EQ(q.complete(job, 0, "dies", "from the lapsed lease"), Report::not_leased)
      << "the task is another worker's now";
  EXPECT_EQ(q.complete(job, 0, "other", "late but first"), Report::accepted);
  EXPECT_EQ(q.complete(job, 0, "other", "second"), Report::ignored) << "a late duplicate";
  EXPECT_EQ(q.status(job)->results, std::vector<Json>{"late but first"});
}

TEST(TopoJobQueue, AWaitingWorkerWakesForNewWork) {
  JobQueue q;
  std::optional<Assignment> got;
  std::thread worker([&] { got = q.next("w", 5s); });
  auto start = Clock::now();
  q.submit("app", {Json{{"n", 1}}});
  worker.join();
  ASSERT_TRUE(got);
  EXPECT_LT(Clock::now() - start, 2s);
}

TEST(TopoJobQueue, OldFinishedJobsAreForgotten) {
  JobQueue q(5min, 2);
  auto a = q.submit("x", {}), b = q.submit("x", {}), c = q.submit("x", {});
  EXPECT_FALSE(q.status(a));
  EXPECT_TRUE(q.status(b));
  EXPECT_TRUE(q.status(c));
}

TEST(TopoServicePaths, KapokPathsTravelRelativeToEachNodesMount) {
  EXPECT_EQ(to_portable_path("/mnt/k1/dns3d/u_1.bin", "/mnt/k1"), "kapok:/dns3d/u_1.bin");
  EXPECT_EQ(to_portable_path("/mnt/k1/dns3d/u_1.bin", "/mnt/k1/"), "kapok:/dns3d/u_1.bin");
  EXPECT_EQ(to_portable_path("/mnt/k10/x", "/mnt/k1"), "/mnt/k10/x");
  EXPECT_EQ(to_portable_path("/data/x", ""), "/data/x");
}

TEST(TopoJobQueue, OnlyTheLeaseHolderReportsAndTheQueueIsBounded) {
  JobQueue q(5min, 100, QueueCaps{2, 3});
  auto job = q.submit("app", {Json::object(), Json::object()});
  auto t = q.next("worker-a", 0ms);
  ASSERT_TRUE(t);
  EXPECT_EQ(q.complete(job, t->index, "forger", "forged"), Report::not_leased);
  EXPECT_EQ(q.fail(job, t->index, "forger", "forged"), Report::not_leased);
  EXPECT_EQ(q.complete(job, 1, "worker-a", "not taken yet"), Report::not_leased);
  EXPECT_EQ(q.status(job)->state, JobState::running);
  EXPECT_EQ(q.complete(job, t->index, "worker-a", 1), Report::accepted);
  EXPECT_THROW(q.submit("app", std::vector<Json>(4, Json::object())), std::length_error);
  q.submit("app", {Json::object()});
  EXPECT_THROW(q.submit("app", {Json::object()}), std::length_error) << "two jobs still run";
}

TEST(TopoTaskPaths, TasksReadOnlyBeneathTheirRoots) {
  namespace fs = std::filesystem;
  fs::path base = fs::temp_directory_path() / ("task-paths-" + std::to_string(getpid()));
  fs::create_directories(base / "kapok" / "d");
  fs::create_directories(base / "data");
  fs::create_directories(base / "secret");
  std::ofstream(base / "kapok" / "d" / "f") << "inside";
  std::ofstream(base / "data" / "g") << "allowed";
  std::ofstream(base / "secret" / "s") << "not for tasks";
  fs::create_symlink(base / "secret" / "s", base / "kapok" / "d" / "link-out");
  fs::create_symlink("f", base / "kapok" / "d" / "link-in");
  TaskPaths paths((base / "kapok").string(), {(base / "data").string()});

  auto read = [](const OpenedInput& in) {
    std::ifstream file(in.path());
    return std::string(std::istreambuf_iterator<char>(file), {});
  };
  EXPECT_EQ(read(paths.open("kapok:/d/f")), "inside");
  EXPECT_EQ(read(paths.open("kapok:/d/link-in")), "inside");
  EXPECT_EQ(read(paths.open((base / "data" / "g").string())), "allowed");
  EXPECT_EQ(paths.open("kapok:/d/f").size(), 6u);
  EXPECT_THROW(paths.open("kapok:/../secret/s"), std::invalid_argument);
  EXPECT_THROW(paths.open("kapok:/d/link-out"), std::invalid_argument);
  EXPECT_THROW(paths.open((base / "secret" / "s").string()), std::invalid_argument);
  EXPECT_THROW(paths.open((base / "data" / ".." / "secret" / "s").string()), std::invalid_argument);
  EXPECT_THROW(paths.open("/etc/passwd"), std::invalid_argument);
  EXPECT_THROW(paths.open("relative/path"), std::invalid_argument);
  EXPECT_THROW(paths.open("kapok:/d/missing"), std::runtime_error);
  EXPECT_THROW(TaskPaths("", {}).open("kapok:/d/f"), std::invalid_argument);
  fs::remove_all(base);
}
