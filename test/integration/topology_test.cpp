// SPDX-License-Identifier: GPL-2.0-or-later
//
// Placement, pools and node failure on a real 8-node cluster (fixture
// "cluster8"): 4 leaf switches of 2 nodes under a spine, n1 n2 | n3 n4 |
// n5 n6 | n7 n8, 2 CPUs per node, one (virtual) GPU on each of n7 and n8.
#include "cluster_env.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

using namespace converge::test;
using namespace std::chrono_literals;

namespace {

std::string field(const std::string& id, const std::string& name) {
  std::string text = sh("scontrol -o show job " + id).output;
  auto at = text.find(" " + name + "=");
  if (at == std::string::npos) return "";
  at += name.size() + 2;
  return text.substr(at, text.find(' ', at) - at);
}

bool running(const std::string& id) {
  return field(id, "JobState") == "RUNNING";
}

bool wait_running(const std::string& id) {
  return converge::poll_until(60s, 50ms, [&] { return running(id); });
}

// "n[3-4]" -> {n3, n4}
std::set<std::string> expand(const std::string& hostlist) {
  std::set<std::string> out;
  std::istringstream names(sh("scontrol show hostnames '" + hostlist + "'").output);
  for (std::string n; names >> n;) out.insert(n);
  return out;
}

int leaf_of(const std::string& node) {
  return (std::stoi(node.substr(1)) - 1) / 2;  // n1,n2 -> 0; n3,n4 -> 1; ...
}

std::set<int> leaves_of(const std::set<std::string>& nodes) {
  std::set<int> leaves;
  for (const auto& n : nodes) leaves.insert(leaf_of(n));
  return leaves;
}

// Nodes with a running job on them.
std::set<std::string> busy_nodes() {
  std::set<std::string> out;
  std::istringstream lists(sh("squeue -h -t R -o %N").output);
  for (std::string list; lists >> list;) {
    for (const auto& n : expand(list)) out.insert(n);
  }
  return out;
}

void cancel_all() {
  admin("scancel -u " + kTestUser + "; scancel -u root");
  ASSERT_TRUE(cluster_idle()) << sh("squeue").output;
}

class Topology : public ::testing::Test {
 protected:
  void SetUp() override { cancel_all(); }
  void TearDown() override { cancel_all(); }
};

}  // namespace

TEST_F(Topology, TwoNodeSimJobLandsUnderOneLeafSwitch) {
  // One CPU busy on n1 and on n3: leaves 1 and 2 are broken, 3 and 4 whole.
  auto a = submit("-w n1 -n1 --wrap 'sleep 120'");
  auto b = submit("-w n3 -n1 --wrap 'sleep 120'");
  ASSERT_TRUE(wait_running(a) && wait_running(b));
  for (int round = 0; round < 2; ++round) {
    auto sim = submit("--converge-type=sim -N2 --wrap 'sleep 120'");
    ASSERT_TRUE(wait_running(sim));
    auto nodes = expand(field(sim, "NodeList"));
    EXPECT_EQ(nodes.size(), 2u);
    EXPECT_EQ(leaves_of(nodes).size(), 1u) << field(sim, "NodeList");
  }
  // The third has no whole leaf left and still runs.
  auto last = submit("--converge-type=sim -N2 --wrap 'sleep 120'");
  ASSERT_TRUE(wait_running(last));
  EXPECT_NE(controller_log().find("job " + last + " class=sim placed on"), std::string::npos);
}

TEST_F(Topology, HeavyJobGetsAnIsolatedLeaf) {
  auto heavy = submit("--converge-type=sim --converge-comm=heavy -N1 -n1 --wrap 'sleep 300'");
  ASSERT_TRUE(wait_running(heavy));
  std::string node = field(heavy, "NodeList");
  int k = std::stoi(node.substr(1));
  std::string mate = "n" + std::to_string(k % 2 ? k + 1 : k - 1);
  EXPECT_TRUE(controller_log_shows("job " + heavy + " class=sim heavy placed on " + node));
  // Whole nodes for everyone else: 6 fit beside the heavy job's leaf, the 7th waits.
  std::vector<std::string> others;
  for (int i = 0; i < 7; ++i) others.push_back(submit("--exclusive -N1 --wrap 'sleep 300'"));
  ASSERT_TRUE(converge::poll_until(60s, 100ms, [&] {
    int n = 0;
    for (const auto& id : others) n += running(id);
    return n == 6;
  }));
  auto busy = busy_nodes();
  EXPECT_FALSE(busy.contains(mate)) << "the heavy job's leaf-mate " << mate << " was given away";
  EXPECT_EQ(busy.size(), 7u);
  // The heavy job's end opens its leaf again.
  sh("scancel " + heavy);
  EXPECT_TRUE(converge::poll_until(60s, 100ms, [&] {
    int n = 0;
    for (const auto& id : others) n += running(id);
    return n == 7;
  }));
}

TEST_F(Topology, AJobWaitingOnAnIsolatedLeafRunsWhenItOpens) {
  // The heavy job isolates the only GPU leaf; the AI job must wait, not be
  // declared never runnable.
  auto heavy = submit("--converge-type=sim --converge-comm=heavy -w n[7-8] --wrap 'sleep 300'");
  ASSERT_TRUE(wait_running(heavy));
  auto ai = submit("--converge-type=ai --gres=gpu:1 -n1 --wrap 'sleep 300'");
  ASSERT_TRUE(converge::poll_until(30s, 100ms, [&] { return !field(ai, "Reason").empty(); }));
  std::this_thread::sleep_for(2s);  // the controller tests it a few times meanwhile
  EXPECT_EQ(field(ai, "JobState"), "PENDING");
  EXPECT_NE(field(ai, "Reason"), "BadConstraints");
  sh("scancel " + heavy);
  EXPECT_TRUE(wait_running(ai)) << field(ai, "Reason");
}

TEST_F(Topology, ConvergedJobsGetABindingHintOfTheirCores) {
  std::string out = user_dir(kClusterDir + "/test-output") + "/hint.out";
  std::remove(out.c_str());
  auto id = submit("-o " + out +
                   " --converge-type=sim -N1 -n1 --wrap 'echo cores=$CONVERGE_BIND_CORES "
                   "numa=$CONVERGE_BIND_NUMA end; sleep 300'");
  ASSERT_TRUE(wait_running(id));
  ASSERT_TRUE(converge::poll_until(
      30s, 50ms, [&] { return read_file(out).find("end") != std::string::npos; }));
  std::string text = read_file(out);
  // Slurm's CPU_IDs for the job (one core) is what the hint names.
  std::string ids = sh("scontrol -d show job " + id + " | grep -o 'CPU_IDs=[^ ]*'").output;
  ASSERT_GE(ids.size(), 9u) << ids;
  std::string cpu = ids.substr(8, ids.find_first_of(" \n") - 8);
  EXPECT_NE(text.find("cores=" + cpu + " "), std::string::npos) << text << " vs " << ids;
  EXPECT_NE(text.find("numa=0 "), std::string::npos) << text;
}

namespace {

const std::string kConvergeJson = kClusterDir + "/etc/converge.json";

// Rewrites converge.json's pools (null: none), then `scontrol reconfigure`.
void set_pools(const nlohmann::json& pools) {
  auto j = nlohmann::json::parse(read_file(kConvergeJson));
  j["scheduler"]["interval_ms"] = 300;
  if (pools.is_null())
    j.erase("pools");
  else
    j["pools"] = pools;
  std::ofstream(kConvergeJson) << j.dump(2) << "\n";
  auto r = admin("scontrol reconfigure");
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

// Node -> pool, from the nodes' features as sinfo shows them.
std::map<std::string, std::string> pools_of_nodes() {
  std::map<std::string, std::string> out;
  std::istringstream lines(sh("sinfo -h -N -o '%N %f'").output);
  for (std::string node, features; lines >> node >> features;) {
    auto at = features.find("pool_");
    if (at != std::string::npos)
      out[node] = features.substr(at + 5, features.find(',', at) - at - 5);
  }
  return out;
}

std::size_t pool_size(const std::string& pool) {
  std::size_t n = 0;
  for (const auto& [node, p] : pools_of_nodes()) n += p == pool;
  return n;
}

const nlohmann::json kPools = nlohmann::json::parse(R"({
  "cooldown_s": 2, "donor_margin_nodes": 0,
  "sim": {"nodes": ["n1", "n2", "n3", "n4"], "min_nodes": 2},
  "bigdata": {"nodes": ["n5", "n6"], "min_nodes": 1},
  "ai": {"nodes": ["n7", "n8"], "min_nodes": 2, "max_nodes": 2}
})");

class Pools : public Topology {
 protected:
  void TearDown() override {
    Topology::TearDown();
    set_pools(nullptr);
    EXPECT_TRUE(converge::poll_until(30s, 100ms, [] { return pools_of_nodes().empty(); }))
        << "pool features stayed after the pools were removed";
  }
};

}  // namespace

TEST_F(Pools, GrowUnderLoadStopAtTheirLimitsAndShrinkBack) {
  set_pools(kPools);
  ASSERT_TRUE(converge::poll_until(30s, 100ms, [] {
    return pool_size("sim") == 4 && pool_size("bigdata") == 2 && pool_size("ai") == 2;
  })) << sh("sinfo -N -o '%N %f'").output;

  // 16 CPUs of big-data work against a pool of 4: it borrows idle sim nodes
  // until sim is at its minimum, and never touches the ai pool.
  for (int i = 0; i < 16; ++i) submit("--converge-type=bigdata -n1 --wrap 'sleep 300'");
  ASSERT_TRUE(converge::poll_until(60s, 100ms, [] {
    return pool_size("bigdata") == 4 && pool_size("sim") == 2;
  })) << sh("sinfo -N -o '%N %f'").output;
  EXPECT_TRUE(controller_log_shows("moved from sim to bigdata: bigdata has"));
  // And stops there: no move for several rounds past the cooldown.
  auto moves = count_of(controller_log(), "pools: n");
  auto before = pools_of_nodes();
  std::this_thread::sleep_for(3s);  // the property is that nothing happens
  EXPECT_EQ(count_of(controller_log(), "pools: n"), moves);
  EXPECT_EQ(pools_of_nodes(), before);
  ASSERT_TRUE(converge::poll_until(60s, 100ms, [] { return busy_nodes().size() == 4; }));
  for (const auto& node : busy_nodes()) EXPECT_EQ(before[node], "bigdata") << node;

  // An AI job on a GPU starts at once: big-data work cannot take the ai pool.
  auto ai = submit("--converge-type=ai --gres=gpu:1 -n1 --wrap 'sleep 300'");
  ASSERT_TRUE(wait_running(ai));
  auto ai_node = field(ai, "NodeList");
  EXPECT_TRUE(ai_node == "n7" || ai_node == "n8") << ai_node;

  // The load turns: simulations wait, big-data work is gone. sim grows back.
  std::istringstream ids(sh("squeue -h -o %i").output);
  for (std::string id; ids >> id;) {
    if (id != ai) sh("scancel " + id);
  }
  for (int i = 0; i < 3; ++i) submit("--converge-type=sim -N2 --wrap 'sleep 300'");
  EXPECT_TRUE(converge::poll_until(60s, 100ms, [] { return pool_size("sim") >= 4; }))
      << sh("sinfo -N -o '%N %f'").output;
  EXPECT_LT(pool_size("bigdata"), 4u);
  EXPECT_GE(pool_size("bigdata"), 1u);  // its minimum
  EXPECT_EQ(pool_size("ai"), 2u);
  EXPECT_TRUE(running(ai));  // never preempted
  std::string status;
  EXPECT_TRUE(converge::poll_until(10s, 100ms, [&] {
    status = admin(kBinDir + "/converge-admin status").output;
    return status.find("-> sim:") != std::string::npos;
  })) << status;
  EXPECT_NE(status.find("recent pool moves:"), std::string::npos) << status;
}

TEST_F(Pools, ABadPoolsSectionIsRefusedAndTheLastGoodOneKept) {
  set_pools(kPools);
  ASSERT_TRUE(converge::poll_until(30s, 100ms, [] { return pool_size("sim") == 4; }));
  auto bad = kPools;
  bad["sim"]["nodes"] = {"n1", "n2", "n3", "n99"};
  set_pools(bad);
  EXPECT_TRUE(controller_log_shows("node n99 of pool sim is not in slurm.conf"));
  bad = kPools;
  bad["sim"]["min_nodes"] = 9;
  set_pools(bad);
  EXPECT_TRUE(controller_log_shows("fewer than min_nodes 9"));
  // scontrol reconfigure resets node features from slurm.conf; the agent
  // puts the last good pools back within a round.
  EXPECT_TRUE(converge::poll_until(10s, 100ms, [] {
    return pool_size("sim") == 4 && pool_size("bigdata") == 2 && pool_size("ai") == 2;
  })) << sh("sinfo -N -o '%N %f'").output;
}

TEST_F(Topology, ANodeFailingMidJobEndsOrRequeuesItLikeStockSlurm) {
  auto lost = submit("--no-requeue -N2 --converge-type=sim --wrap 'sleep 300'");
  auto again = submit("--requeue -N2 --converge-type=sim --wrap 'sleep 300'");
  ASSERT_TRUE(wait_running(lost) && wait_running(again));
  std::string victim = *expand(field(lost, "NodeList")).rbegin();
  auto pid = converge::process::read_pid_file(kClusterDir + "/run/slurmd-" + victim + ".pid");
  ASSERT_TRUE(pid);
  converge::process::terminate(*pid, 10s);
  // SlurmdTimeout would notice in a minute; an admin marking it down is the same event.
  admin("scontrol update nodename=" + victim + " state=down reason=failed-in-test");
  EXPECT_TRUE(converge::poll_until(60s, 100ms, [&] {
    return field(lost, "JobState") == "NODE_FAIL";
  })) << field(lost, "JobState");
  // The requeued job (if it was on the failed node) runs again elsewhere.
  EXPECT_TRUE(converge::poll_until(
      120s, 200ms,
      [&] { return running(again) && !expand(field(again, "NodeList")).contains(victim); }))
      << field(again, "JobState") << " " << field(again, "NodeList");
  EXPECT_EQ(sh("scontrol ping").output.find("DOWN"), std::string::npos);
  // The node comes back: its slurmd restarts and the admin resumes it.
  ASSERT_EQ(admin(cluster_cmd("up")).exit_code, 0);
  admin("scontrol update nodename=" + victim + " state=resume");
  EXPECT_TRUE(converge::poll_until(90s, 200ms, [&] {
    auto state = sh("sinfo -h -n " + victim + " -o %t").output;
    return state.rfind("idle", 0) == 0 || state.rfind("mix", 0) == 0 ||
           state.rfind("alloc", 0) == 0;
  })) << sh("sinfo -N").output;
}
