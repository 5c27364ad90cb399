// SPDX-License-Identifier: GPL-2.0-or-later
#include "topo/find/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

using namespace topo::find;

namespace {

long fib(int n) {
  if (n < 2) return n;
  long a = 0, b = 0;
  fork_join([&] { a = fib(n - 1); }, [&] { b = fib(n - 2); });
  return a + b;
}

long fib_serial(int n) {
  return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2);
}

// An unbalanced tree: a node has 0 or 4 children, decided by a hash of its id.
long tree_nodes(std::uint64_t id, int depth) {
  std::uint64_t h = id * 0x9E3779B97F4A7C15ULL;
  h ^= h >> 31;
  int children = (depth < 3 || (h % 100) < 30) && depth < 16 ? 4 : 0;
  if (!children) return 1;
  std::atomic<long> count{1};
  TaskGroup group;
  for (int c = 0; c < children; ++c)
    group.spawn([&, c] { count += tree_nodes(id * 4 + c + 1, depth + 1); });
  group.wait();
  return count;
}

long tree_nodes_serial(std::uint64_t id, int depth) {
  std::uint64_t h = id * 0x9E3779B97F4A7C15ULL;
  h ^= h >> 31;
  int children = (depth < 3 || (h % 100) < 30) && depth < 16 ? 4 : 0;
  long count = 1;
  for (int c = 0; c < children; ++c) count += tree_nodes_serial(id * 4 + c + 1, depth + 1);
  return count;
}

}  // namespace

TEST(FinD, ForkJoinComputesFibOnEveryWorkerCount) {
  for (unsigned workers : {1u, 2u, 4u}) {
    Scheduler s({workers, false, true});
    long result = 0;
    s.run([&] { result = fib(24); });
    EXPECT_EQ(result, fib_serial(24)) << workers << " workers";
  }
}

TEST(FinD, UnbalancedTreesAndParallelForUnderContention) {
  // More workers than cores: every steal races.
  Scheduler s({8, false, true});
  long nodes = 0;
  s.run([&] { nodes = tree_nodes(0, 0); });
  EXPECT_EQ(nodes, tree_nodes_serial(0, 0));
  EXPECT_GT(nodes, 1000);

  std::vector<std::atomic<int>> hits(100000);
  s.run([&] { parallel_for(0, hits.size(), 64, [&](std::size_t i) { hits[i]++; }); });
  EXPECT_TRUE(std::all_of(hits.begin(), hits.end(), [](auto& h) { return h.load() == 1; }));
}

TEST(FinD, AnIdleWorkerStealsWhatABusyOneForked) {
  Scheduler s({2, false, true});
  std::atomic<bool> sibling_ran{false};
  bool seen = false;
  s.run([&] {
    fork_join(
        [&] {  // busy until the sibling has run elsewhere (bounded)
          auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
          while (!sibling_ran.load() && std::chrono::steady_clock::now() < until)
            std::this_thread::yield();
          seen = sibling_ran.load();
        },
        [&] { sibling_ran = true; });
  });
  EXPECT_TRUE(seen);
  auto st = s.stats();
  EXPECT_EQ(st.local_steals + st.remote_steals + st.handoffs, 1u);
}

TEST(FinD, ExceptionsReachTheJoinerAndTheSchedulerStaysUsable) {
  Scheduler s({4, false, true});
  EXPECT_THROW(
      s.run([] { fork_join([] {}, [] { throw std::runtime_error("in the forked task"); }); }),
      std::runtime_error);
  EXPECT_THROW(s.run([] {
    TaskGroup g;
    for (int i = 0; i < 16; ++i)
      g.spawn([i] {
        if (i == 7) throw std::logic_error("seven");
      });
    g.wait();
  }),
               std::logic_error);
  long result = 0;
  s.run([&] { result = fib(20); });
  EXPECT_EQ(result, 6765);
}

TEST(FinD, OutsideASchedulerEverythingRunsInTurn) {
  EXPECT_EQ(fib(15), 610);
  int sum = 0;
  parallel_for(0, 10, 3, [&](std::size_t i) { sum += static_cast<int>(i); });
  EXPECT_EQ(sum, 45);
}

TEST(FinD, ADequeLosesNoTaskToRacingThieves) {
  WorkDeque<int, 1024> deque;
  std::vector<int> items(200000);
  std::atomic<long> taken{0}, sum{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> thieves;
  for (int t = 0; t < 3; ++t)
    thieves.emplace_back([&] {
      while (!done.load()) {
        if (int* p = deque.steal()) {
          sum += *p;
          ++taken;
        }
      }
    });
  long expected = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    items[i] = static_cast<int>(i % 1000);
    expected += items[i];
    while (!deque.push(&items[i])) {
      if (int* p = deque.pop()) {
        sum += *p;
        ++taken;
      }
    }
    if (i % 3 == 0) {
      if (int* p = deque.pop()) {
        sum += *p;
        ++taken;
      }
    }
  }
  while (int* p = deque.pop()) {
    sum += *p;
    ++taken;
  }
  while (deque.size() > 0) std::this_thread::yield();
  done = true;
  for (auto& t : thieves) t.join();
  EXPECT_EQ(taken.load(), static_cast<long>(items.size()));
  EXPECT_EQ(sum.load(), expected);
}
