// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/sched/isolation.h"
#include "converge/sched/locality_map.h"
#include "converge/sched/node_choice.h"
#include "converge/sched/pool_features.h"
#include "converge/sched/pools.h"
#include "converge/sched/preemption.h"
#include "converge/sched/pull_policy.h"
#include "converge/sched/pull_queue.h"

#include <gtest/gtest.h>

using namespace converge::sched;
using namespace std::chrono_literals;

namespace {

PullJob job(std::uint32_t id, Urgency u, std::uint32_t priority, std::uint32_t cpus = 1,
            std::vector<std::string> data = {}) {
  PullJob j;
  j.id = id;
  j.urgency = u;
  j.priority = priority;
  j.cpus = cpus;
  j.memory_mb = 100;
  j.data_nodes = std::move(data);
  return j;
}

NodeCapacity node(const std::string& name, std::uint32_t cpus, std::uint64_t mem = 1000) {
  return {name, cpus, mem};
}

converge::SwitchTree eight_nodes() {
  // 4 leaves of 2 under a spine: n1 n2 | n3 n4 | n5 n6 | n7 n8
  return converge::SwitchTree::parse(
      "SwitchName=l1 Nodes=n[1-2]\nSwitchName=l2 Nodes=n[3-4]\nSwitchName=l3 Nodes=n[5-6]\n"
      "SwitchName=l4 Nodes=n[7-8]\nSwitchName=spine Switches=l[1-4]\n",
      "topology.conf");
}

}  // namespace

TEST(PullQueue, RealTimeFirstThenPriorityThenArrival) {
  PullQueue q;
  q.push(job(1, Urgency::batch, 10));
  q.push(job(2, Urgency::batch, 50));
  q.push(job(3, Urgency::batch, 50));
  EXPECT_EQ(q.best_for(node("n1", 2))->id, 2u);  // priority, then arrival
  q.push(job(4, Urgency::realtime, 1));
  EXPECT_EQ(q.best_for(node("n1", 2))->id, 4u);  // real time overtakes batch
  EXPECT_EQ(q.size(Urgency::realtime), 1u);
  EXPECT_TRUE(q.remove(4));
  EXPECT_FALSE(q.remove(4));
  EXPECT_EQ(q.order(10), (std::vector<std::uint32_t>{2, 3, 1}));
}

TEST(PullQueue, OnlyJobsThatFitAndLocalDataFirst) {
  PullQueue q;
  q.push(job(1, Urgency::batch, 90, 4));
  q.push(job(2, Urgency::batch, 50, 2));
  q.push(job(3, Urgency::batch, 10, 1, {"n3"}));
  EXPECT_EQ(q.best_for(node("n1", 2))->id, 2u);  // 1 needs 4 CPUs
  EXPECT_EQ(q.best_for(node("n1", 4))->id, 1u);
  EXPECT_EQ(q.best_for(node("n3", 4))->id, 3u);  // its data is on n3
  EXPECT_FALSE(q.best_for(node("n1", 0)).has_value());
  EXPECT_FALSE(q.best_for(node("n1", 8, 50)).has_value());  // no memory for any
  q.push(job(2, Urgency::batch, 5, 1));                     // re-queued smaller and lower
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.best_for(node("n1", 1))->id, 3u);  // now 3 has the higher priority
}

TEST(PullQueue, ManyJobsPickWithoutScanningThem) {
  PullQueue q;
  for (std::uint32_t i = 1; i <= 100000; ++i) q.push(job(i, Urgency::batch, i % 7, 1 + i % 3));
  auto start = std::chrono::steady_clock::now();
  std::uint32_t picked = 0;
  for (int round = 0; round < 10000; ++round) {
    auto j = q.best_for(node("n1", 2));
    ASSERT_TRUE(j);
    q.remove(j->id);
    ++picked;
  }
  // Generous: 10,000 picks from 100,000 jobs are a few milliseconds of work.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(q.size(), 100000u - picked);
}

TEST(NodeChoice, SmallJobsFitUnderOneLeafAndKeepWholeLeavesFree) {
  auto tree = eight_nodes();
  // l1 wholly free, l2 half used (n4 busy).
  std::set<std::string> free{"n1", "n2", "n3", "n5", "n6", "n7", "n8"};
  auto one = choose_nodes(tree, free, {1, false});
  ASSERT_TRUE(one);
  EXPECT_EQ(one->nodes, (std::vector<std::string>{"n3"}));  // the broken leaf, not a whole one
  auto two = choose_nodes(tree, free, {2, false});
  ASSERT_TRUE(two);
  EXPECT_EQ(two->leaf_switches, 1u);
  auto five = choose_nodes(tree, free, {5, false});
  ASSERT_TRUE(five);
  EXPECT_EQ(five->nodes.size(), 5u);
  EXPECT_EQ(five->leaf_switches, 3u);
  EXPECT_FALSE(choose_nodes(tree, free, {8, false}));
}

TEST(NodeChoice, HeavyJobsGetWholeLeaves) {
  auto tree = eight_nodes();
  std::set<std::string> free{"n1", "n3", "n4", "n5", "n6", "n8"};  // l2, l3 whole
  auto heavy = choose_nodes(tree, free, {2, true});
  ASSERT_TRUE(heavy);
  EXPECT_TRUE(heavy->isolated);
  EXPECT_EQ(heavy->leaf_switches, 1u);
  EXPECT_TRUE(heavy->nodes == (std::vector<std::string>{"n3", "n4"}) ||
              heavy->nodes == (std::vector<std::string>{"n5", "n6"}));
  auto four = choose_nodes(tree, free, {4, true});
  ASSERT_TRUE(four);
  EXPECT_TRUE(four->isolated);
  EXPECT_EQ(four->leaf_switches, 2u);
  // Not possible: a heavy job still runs, not isolated.
  auto five = choose_nodes(tree, free, {5, true});
  ASSERT_TRUE(five);
  EXPECT_FALSE(five->isolated);
  EXPECT_EQ(leaf_switches_of(tree, {"n1", "n2", "n3"}), 2u);
}

TEST(Pools, GrowUnderPressureAndStayPutWithinTheCooldown) {
  PoolSettings s;
  s.pools = {{"sim", converge::JobType::sim, {"n1", "n2", "n3", "n4"}, 1, 0},
             {"bigdata", converge::JobType::bigdata, {"n5", "n6"}, 1, 4}};
  s.cooldown = 10s;
  s.donor_margin_nodes = 1;
  PoolManager m(s);
  auto t0 = PoolManager::Clock::now();
  std::map<std::string, PoolLoad> load{
      {"sim", {0, {"n1", "n2", "n3", "n4"}, 2}},  // idle, nothing pending
      {"bigdata", {20, {}, 2}}};                  // 20 CPUs waiting, nothing idle
  auto moves = m.rebalance(load, t0);
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].from, "sim");
  EXPECT_EQ(moves[0].to, "bigdata");
  EXPECT_NE(moves[0].reason.find("bigdata has 20 CPUs pending"), std::string::npos);
  EXPECT_EQ(m.pool_of_node(moves[0].node), "bigdata");
  // The pressure turns round at once: within the cooldown nothing moves back.
  std::map<std::string, PoolLoad> reversed{{"sim", {20, {}, 2}},
                                           {"bigdata", {0, {"n5", "n6", moves[0].node}, 2}}};
  EXPECT_TRUE(m.rebalance(reversed, t0 + 5s).empty());
  // Under lasting pressure bigdata keeps growing, one node per round, until
  // sim is down to its demand plus a margin (and its minimum).
  auto t = t0 + 5s;
  for (int round = 0; round < 10; ++round) {
    t += 1s;
    std::vector<std::string> idle(m.members().at("sim").begin(), m.members().at("sim").end());
    load["sim"].idle_nodes = idle;
    m.rebalance(load, t);
  }
  EXPECT_EQ(m.members().at("sim").size(), 2u);
  EXPECT_EQ(m.members().at("bigdata").size(), 4u);
  // No pressure anywhere: nothing moves, so the pools rest there.
  load["bigdata"] = {0, {}, 2};
  EXPECT_TRUE(m.rebalance(load, t + 60s).empty());
  // After the cooldown, real pressure the other way moves a node back.
  reversed["bigdata"].idle_nodes.assign(m.members().at("bigdata").begin(),
                                        m.members().at("bigdata").end());
  auto back = m.rebalance(reversed, t + 60s);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].to, "sim");
}

TEST(Pools, AWideJobNeedsIdleNodesNotJustIdleCpus) {
  PoolSettings s;
  s.pools = {{"sim", converge::JobType::sim, {"n1", "n2", "n3"}, 1, 0},
             {"bigdata", converge::JobType::bigdata, {"n4", "n5", "n6"}, 1, 0}};
  s.donor_margin_nodes = 0;
  PoolManager m(s);
  // A 2-node job asking for 2 CPUs, and one idle sim node with 2 CPUs.
  PoolLoad sim{2, {"n3"}, 2};
  std::map<std::string, PoolLoad> load{{"sim", sim}, {"bigdata", {0, {"n4", "n5", "n6"}, 2}}};
  EXPECT_TRUE(m.rebalance(load, PoolManager::Clock::now()).empty());  // CPUs alone: no need
  sim.widest_pending_nodes = 2;
  load["sim"] = sim;
  auto moves = m.rebalance(load, PoolManager::Clock::now());
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].to, "sim");
}

TEST(Pools, MovesSurviveARestartWhenTheyStillFitTheConfiguration) {
  PoolSettings s;
  s.pools = {{"sim", converge::JobType::sim, {"n1", "n2", "n3"}, 1, 0},
             {"bigdata", converge::JobType::bigdata, {"n4"}, 1, 3}};
  // n3 had moved to bigdata before the restart.
  PoolSettings moved = s;
  EXPECT_TRUE(moved.adopt({{"sim", {"n1", "n2"}}, {"bigdata", {"n3", "n4"}}}));
  EXPECT_EQ(moved.pools[1].nodes, (std::vector<std::string>{"n3", "n4"}));
  // Not the same nodes, over a limit, or an unknown pool: the configuration wins.
  PoolSettings other = s;
  EXPECT_FALSE(other.adopt({{"sim", {"n1", "n2"}}, {"bigdata", {"n4"}}}));
  EXPECT_FALSE(other.adopt({{"sim", {}}, {"bigdata", {"n1", "n2", "n3", "n4"}}}));
  EXPECT_FALSE(other.adopt({{"sim", {"n1", "n2", "n3"}}, {"ai", {"n4"}}}));
  EXPECT_EQ(other.pools[0].nodes, s.pools[0].nodes);
}

TEST(PoolFeatures, MembershipTravelsAsANodeFeatureBesideTheAdminsOwn) {
  using converge::JobType;
  EXPECT_EQ(pool_feature(JobType::bigdata), "pool_bigdata");
  EXPECT_EQ(pool_in_features("ib,pool_sim,fast"), JobType::sim);
  EXPECT_EQ(pool_in_features("ib,pool_simx"), std::nullopt);
  EXPECT_EQ(pool_in_features(""), std::nullopt);
  EXPECT_EQ(with_pool_feature("ib,pool_sim,fast", JobType::ai), "ib,fast,pool_ai");
  EXPECT_EQ(with_pool_feature("pool_sim", std::nullopt), "");
  EXPECT_EQ(with_pool_feature("", JobType::sim), "pool_sim");
  EXPECT_TRUE(pool_admits(std::nullopt, JobType::sim));  // a node in no pool
  EXPECT_TRUE(pool_admits(JobType::sim, std::nullopt));  // a job without a class
  EXPECT_TRUE(pool_admits(JobType::ai, JobType::ai));
  EXPECT_FALSE(pool_admits(JobType::sim, JobType::bigdata));  // another class's pool
}

TEST(Preemption, BigDataWorkNeverPreemptsAiServices) {
  using converge::JobType;
  EXPECT_FALSE(may_preempt(JobType::bigdata, JobType::ai));
  EXPECT_TRUE(may_preempt(JobType::bigdata, JobType::bigdata));
  EXPECT_TRUE(may_preempt(JobType::sim, JobType::ai));  // the site's policy decides
  EXPECT_TRUE(may_preempt(std::nullopt, JobType::ai));
  EXPECT_TRUE(may_preempt(JobType::bigdata, std::nullopt));
}

TEST(Isolation, AHeavyJobsLeavesAreClosedToOtherJobsUntilItEnds) {
  auto tree = eight_nodes();
  Isolation iso;
  iso.claim(7, {"n1"}, tree);  // one node, but the whole leaf n1,n2
  EXPECT_EQ(iso.blocked_for(8), (std::set<std::string>{"n1", "n2"}));
  EXPECT_TRUE(iso.blocked_for(7).empty());
  iso.claim(9, {"n4", "n5"}, tree);  // spans two leaves: both are its
  EXPECT_EQ(iso.blocked_for(7), (std::set<std::string>{"n3", "n4", "n5", "n6"}));
  iso.release(7);
  EXPECT_EQ(iso.blocked_for(1), (std::set<std::string>{"n3", "n4", "n5", "n6"}));
  iso.release(9);
  EXPECT_TRUE(iso.empty());
}

TEST(Pools, ConfigurationErrorsAreLocated) {
  auto parse = [](const std::string& text) {
    auto json = converge::config::parse(text, "converge.json");
    converge::config::Node root(json, "converge.json");
    return PoolSettings::from_config(root.at("pools"));
  };
  auto error_of = [&](const std::string& text) {
    try {
      parse(text);
    } catch (const converge::config::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  auto ok = parse(R"({"pools": {"sim": {"nodes": ["n1", "n2"], "min_nodes": 1},
                               "bigdata": {"nodes": ["n3"], "max_nodes": 3}, "cooldown_s": 5}})");
  EXPECT_EQ(ok.pools.size(), 2u);
  EXPECT_EQ(ok.cooldown, 5s);
  EXPECT_NE(error_of(R"({"pools": {"sim": {"nodes": ["n1"]}, "ai": {"nodes": ["n1"]}}})")
                .find("/pools/ai/nodes/0: node n1 is in two pools"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"pools": {"sim": {"nodes": ["n1"], "min_nodes": 3, "max_nodes": 2}}})")
                .find("/pools/sim"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"pools": {"simulation": {"nodes": []}}})").find("simulation"),
            std::string::npos);
}

TEST(LocalityMap, LongestPrefixOnWholePathComponents) {
  auto map = LocalityMap::from_json(
      converge::config::parse(R"({"/data": ["n1"], "/data/climate/": ["n3", "n4"]})", "map.json"),
      "map.json");
  EXPECT_EQ(map.size(), 2u);
  EXPECT_EQ(map.nodes_for("/data/climate/t2m.nc"), (std::vector<std::string>{"n3", "n4"}));
  EXPECT_EQ(map.nodes_for("/data/climatology/x"),
            (std::vector<std::string>{"n1"}));  // not a prefix of a name
  EXPECT_EQ(map.nodes_for("/data"), (std::vector<std::string>{"n1"}));
  EXPECT_TRUE(map.nodes_for("/other/file").empty());
  EXPECT_THROW(LocalityMap::from_json(converge::config::parse(R"({"data": ["n1"]})", "m"), "m"),
               converge::config::Error);
  // Jobs whose data a node holds make that node ask first.
  PullQueue q;
  q.push(job(1, Urgency::batch, 1, 1, map.nodes_for("/data/climate/a")));
  auto nodes = q.nodes_with_local_work();
  EXPECT_EQ(nodes.size(), 2u);
}

namespace {

converge::sched::PendingJob ready_job() {
  converge::sched::PendingJob j;
  j.pending = j.has_details = j.partition_schedulable = j.batch = j.independent = true;
  return j;
}

}  // namespace

TEST(PullPolicy, OnlyPendingOneNodeBatchJobsThatWaitForNothingArePulled) {
  using namespace converge::sched;
  EXPECT_TRUE(pullable(ready_job()));
  auto held = ready_job();
  held.held = true;
  EXPECT_FALSE(pullable(held));
  EXPECT_TRUE(may_become_pullable(held));  // looked at again when released
  auto waiting = ready_job();
  waiting.independent = false;
  EXPECT_FALSE(pullable(waiting));
  EXPECT_TRUE(may_become_pullable(waiting));
  auto two_nodes = ready_job();
  two_nodes.min_nodes = two_nodes.max_nodes = 2;
  EXPECT_FALSE(pullable(two_nodes));
  EXPECT_FALSE(may_become_pullable(two_nodes));  // never: Slurm's schedulers take it
  for (auto never : {&PendingJob::heterogeneous, &PendingJob::array}) {
    auto j = ready_job();
    j.*never = true;
    EXPECT_FALSE(pullable(j));
    EXPECT_FALSE(may_become_pullable(j));
  }
  auto interactive = ready_job();
  interactive.batch = false;
  EXPECT_FALSE(pullable(interactive));
  auto reserved = ready_job();
  reserved.in_reservation = true;
  EXPECT_FALSE(pullable(reserved));
  auto completing = ready_job();
  completing.completing = true;
  EXPECT_FALSE(pullable(completing));
  auto down = ready_job();
  down.partition_schedulable = false;
  EXPECT_FALSE(pullable(down));
}

TEST(PullPolicy, RealTimeJobsAreRaisedNeverLowered) {
  using namespace converge::sched;
  EXPECT_EQ(pull_priority(Urgency::realtime, 1000), kRealtimePriority);
  EXPECT_EQ(pull_priority(Urgency::realtime, kRealtimePriority + 3), kRealtimePriority + 3);
  EXPECT_EQ(pull_priority(Urgency::batch, 1000), 1000u);
}

TEST(PullPolicy, AReservedNodeTakesOnlyJobsThatOutrankOrEndBeforeTheReservation) {
  using namespace converge::sched;
  const std::time_t now = 1'000'000;
  Reservation none;
  EXPECT_TRUE(fits_before(1, std::nullopt, none, now));
  Reservation r;
  r.add(now + 3600, 500);
  r.add(now + 7200, 800);  // the earliest start and the top priority count
  EXPECT_EQ(r.from, now + 3600);
  EXPECT_EQ(r.top_priority, 800u);
  EXPECT_TRUE(fits_before(900, std::nullopt, r, now));  // outranks every reserved job
  EXPECT_TRUE(fits_before(100, 60, r, now));            // ends exactly when the reservation starts
  EXPECT_FALSE(fits_before(100, 61, r, now));
  EXPECT_FALSE(fits_before(100, std::nullopt, r, now));  // unlimited never fits before
  EXPECT_FALSE(fits_before(800, 10'000, r, now));        // equal priority does not outrank
}

TEST(PullPolicy, TimeLimitFallsBackToThePartitionDefaultThenItsMaximum) {
  using converge::sched::time_limit;
  EXPECT_EQ(time_limit(30, 60, 120), 30u);
  EXPECT_EQ(time_limit(std::nullopt, 60, 120), 60u);
  EXPECT_EQ(time_limit(std::nullopt, std::nullopt, 120), 120u);
  EXPECT_EQ(time_limit(std::nullopt, std::nullopt, std::nullopt), std::nullopt);
}

TEST(PullPolicy, NodesWithLocalWorkAreAskedFirstThenAll) {
  EXPECT_EQ(converge::sched::ask_order({3, 1}, 4), (std::vector<int>{3, 1, 0, 1, 2, 3}));
  EXPECT_EQ(converge::sched::ask_order({}, 2), (std::vector<int>{0, 1}));
}

TEST(PullPolicy, EachDecisionSaysWhy) {
  using namespace converge::sched;
  PullJob job;
  job.urgency = Urgency::realtime;
  EXPECT_EQ(decision_reason(job, "n1"), "real-time work goes first");
  job.urgency = Urgency::batch;
  job.data_nodes = {"n2"};
  EXPECT_EQ(decision_reason(job, "n2"), "its data is on this node");
  EXPECT_EQ(decision_reason(job, "n1"), "best batch job that fits");
  EXPECT_EQ(urgency_name(Urgency::realtime), "realtime");
  EXPECT_EQ(urgency_name(Urgency::batch), "batch");
}
