// SPDX-License-Identifier: GPL-2.0-or-later
#include "topo/service/client.h"
#include "topo/service/job_queue.h"

#include <gtest/gtest.h>

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
  EXPECT_TRUE(q.complete(job, 1, 20));  // out of order
  EXPECT_TRUE(q.complete(job, 0, 10));
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
  EXPECT_TRUE(q.fail(job, t->index, "no such file"));
  auto s = q.status(job);
  EXPECT_EQ(s->state, JobState::failed);
  EXPECT_EQ(s->error, "task 0 on node3:77: no such file");
  EXPECT_FALSE(q.next("w", 0ms)) << "the failed job's other tasks are dropped";
  EXPECT_FALSE(q.complete(99, 0, 1));
  EXPECT_FALSE(q.fail(job, 7, "x"));
}

TEST(TopoJobQueue, ATaskWhoseWorkerVanishesGoesBackAfterItsLease) {
  JobQueue q(50ms);
  auto job = q.submit("app", {Json::object()});
  ASSERT_TRUE(q.next("dies", 0ms));
  EXPECT_FALSE(q.next("other", 0ms));
  auto again = q.next("other", 2s);  // waits past the lease
  ASSERT_TRUE(again);
  EXPECT_EQ(again->job, job);
  EXPECT_TRUE(q.complete(job, 0, "late but first"));
  EXPECT_TRUE(q.complete(job, 0, "second")) << "a late duplicate is accepted and ignored";
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
  EXPECT_EQ(to_local_path("kapok:/dns3d/u_1.bin", "/mnt/k2"), "/mnt/k2/dns3d/u_1.bin");
  EXPECT_EQ(to_local_path("/data/x", "/mnt/k2"), "/data/x");
  EXPECT_THROW(to_local_path("kapok:/x", ""), std::invalid_argument);
}
