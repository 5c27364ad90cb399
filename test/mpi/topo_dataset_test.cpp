// SPDX-License-Identifier: GPL-2.0-or-later
//
// Topo's distributed datasets on real MPI ranks (CTest starts this binary
// with mpiexec -n 3): each operation's result against a sequential
// reference, on every rank.
#include "topo/core/dataset.h"
#include "topo_test_context.h"

#include <gtest/gtest.h>
#include <mpi.h>

#include <numeric>

using topo::test::context;

TEST(Dataset, GenerateSplitsInOrderAndCollectGathersEverything) {
  auto& ctx = context();
  auto d = topo::Dataset<long>::generate(ctx, 1001, [](std::uint64_t i) { return long(i) * 3; });
  EXPECT_EQ(d.count(), 1001u);
  auto all = d.collect();
  ASSERT_EQ(all.size(), 1001u);
  for (std::size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], long(i) * 3);
  // Each rank holds about a third.
  EXPECT_NEAR(double(d.local().size()), 1001.0 / ctx.size(), 1.0);
}

TEST(Dataset, MapFilterFlatMapKeepTheGlobalOrder) {
  auto& ctx = context();
  auto d = topo::Dataset<int>::generate(ctx, 500, [](std::uint64_t i) { return int(i); });
  auto result = d.map([](int x) { return x * x; })
                    .filter([](int x) { return x % 2 == 0; })
                    .flat_map([](int x) {
                      return std::vector<int>{x, -x};
                    })
                    .collect();
  std::vector<int> expected;
  for (int i = 0; i < 500; ++i) {
    if ((i * i) % 2 == 0) {
      expected.push_back(i * i);
      expected.push_back(-i * i);
    }
  }
  EXPECT_EQ(result, expected);
}

TEST(Dataset, ReduceAndPrefixSumMatchTheSequentialOnes) {
  auto& ctx = context();
  auto d =
      topo::Dataset<long>::generate(ctx, 777, [](std::uint64_t i) { return long(i % 13) - 6; });
  long sum = d.reduce([](long a, long b) { return a + b; }, 0);
  std::vector<long> seq(777);
  for (std::size_t i = 0; i < seq.size(); ++i) seq[i] = long(i % 13) - 6;
  EXPECT_EQ(sum, std::accumulate(seq.begin(), seq.end(), 0L));
  // An associative op that is not commutative: the order must be kept.
  auto first_nonzero = [](long a, long b) { return a != 0 ? a : b; };
  EXPECT_EQ(d.reduce(first_nonzero, 0), std::accumulate(seq.begin(), seq.end(), 0L, first_nonzero));
  auto last_nonzero = [](long a, long b) { return b != 0 ? b : a; };
  EXPECT_EQ(d.reduce(last_nonzero, 0), std::accumulate(seq.begin(), seq.end(), 0L, last_nonzero));
  auto scanned = d.prefix_sum([](long a, long b) { return a + b; }, 0).collect();
  std::vector<long> expected(seq.size());
  std::partial_sum(seq.begin(), seq.end(), expected.begin());
  EXPECT_EQ(scanned, expected);
}

TEST(Dataset, EmptyPartsAreFine) {
  auto& ctx = context();
  auto d = topo::Dataset<int>::generate(ctx, 1, [](std::uint64_t) { return 42; });
  EXPECT_EQ(d.count(), 1u);
  EXPECT_EQ(d.reduce([](int a, int b) { return a + b; }, 0), 42);
  EXPECT_EQ(d.filter([](int) { return false; }).count(), 0u);
  EXPECT_EQ(d.prefix_sum([](int a, int b) { return a + b; }, 0).collect(), std::vector<int>{42});
}
