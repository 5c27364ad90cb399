// SPDX-License-Identifier: GPL-2.0-or-later
//
// InterMap on real MPI ranks: grid stencils (periodic or not, corners,
// halos wider than one) and graph neighbour reductions, each against a
// sequential computation on the whole grid or graph.
#include "topo/intermap/graph_dataset.h"
#include "topo/intermap/grid_dataset.h"
#include "topo_test_context.h"

#include <gtest/gtest.h>

#include <array>
#include <numeric>
#include <random>

using namespace topo;
using topo::test::context;

namespace {

long wrap(long c, long n) {
  return ((c % n) + n) % n;
}

}  // namespace

TEST(InterMapGrid, FivePointStencilOnABoundedGridSeesTheFillPastTheEdges) {
  const long nx = 13, ny = 9;
  Grid grid(context(), {nx, ny}, {false, false});
  auto value = [](long x, long y) { return double(x * 100 + y); };
  auto field = GridDataset<double>::generate(
      grid, [&](auto c) { return value(long(c[0]), long(c[1])); }, -1.0);
  auto sums = field.stencil_map([](const Stencil<double>& s) {
    double sum = 0;
    int inside = 0;
    for (auto [dx, dy] : {std::array{-1, 0}, {1, 0}, {0, -1}, {0, 1}}) {
      sum += s(dx, dy);
      inside += s.inside(dx, dy);
    }
    return sum + 1000000.0 * inside;
  });
  auto all = sums.collect();
  ASSERT_EQ(all.size(), std::size_t(nx * ny));
  for (long x = 0; x < nx; ++x) {
    for (long y = 0; y < ny; ++y) {
      double expected = 0;
      int inside = 0;
      for (auto [dx, dy] : {std::array{-1L, 0L}, {1L, 0L}, {0L, -1L}, {0L, 1L}}) {
        long a = x + dx, b = y + dy;
        bool in = a >= 0 && a < nx && b >= 0 && b < ny;
        expected += in ? value(a, b) : -1.0;  // the fill value
        inside += in;
      }
      EXPECT_EQ(all[x * ny + y], expected + 1000000.0 * inside) << x << "," << y;
    }
  }
}

TEST(InterMapGrid, NinePointStencilOnAPeriodicGridWrapsCornersToo) {
  const long nx = 8, ny = 10;
  Grid grid(context(), {nx, ny}, {true, true});
  auto field = GridDataset<long>::generate(grid, [&](auto c) { return long(c[0] * 1000 + c[1]); });
  auto result = field.stencil_map([](const Stencil<long>& s) {
    long acc = 0;
    for (int dx = -1; dx <= 1; ++dx)
      for (int dy = -1; dy <= 1; ++dy) acc = acc * 3 + s(dx, dy);  // order-sensitive
    return acc;
  });
  auto all = result.collect();
  for (long x = 0; x < nx; ++x) {
    for (long y = 0; y < ny; ++y) {
      long acc = 0;
      for (long dx = -1; dx <= 1; ++dx)
        for (long dy = -1; dy <= 1; ++dy)
          acc = acc * 3 + wrap(x + dx, nx) * 1000 + wrap(y + dy, ny);
      EXPECT_EQ(all[x * ny + y], acc) << x << "," << y;
    }
  }
}

TEST(InterMapGrid, WideHalosInThreeDimensionsWithMixedPeriodicity) {
  const long n0 = 9, n1 = 7, n2 = 6;
  Grid grid(context(), {std::uint64_t(n0), std::uint64_t(n1), std::uint64_t(n2)},
            {true, false, true}, 2);
  auto code = [](long a, long b, long c) { return int(a * 10000 + b * 100 + c); };
  auto field = GridDataset<int>::generate(
      grid, [&](auto c) { return code(long(c[0]), long(c[1]), long(c[2])); }, 7);
  auto result = field.stencil_map([](const Stencil<int>& s) {
    long acc = 0;
    for (int k = -2; k <= 2; ++k) acc = acc * 31 + s(k, 0, 0) + 3 * s(0, k, 0) + 7 * s(0, 0, k);
    acc = acc * 31 + s(-2, 2, -1) + s(2, -2, 1);  // far corners
    return acc;
  });
  auto all = result.collect();
  for (long a = 0; a < n0; ++a) {
    for (long b = 0; b < n1; ++b) {
      for (long c = 0; c < n2; ++c) {
        auto at = [&](long da, long db, long dc) {
          long bb = b + db;
          if (bb < 0 || bb >= n1) return 7;  // non-periodic dimension 1: the fill
          return code(wrap(a + da, n0), bb, wrap(c + dc, n2));
        };
        long acc = 0;
        for (long k = -2; k <= 2; ++k)
          acc = acc * 31 + at(k, 0, 0) + 3 * at(0, k, 0) + 7 * at(0, 0, k);
        acc = acc * 31 + at(-2, 2, -1) + at(2, -2, 1);
        ASSERT_EQ(all[(a * n1 + b) * n2 + c], acc) << a << "," << b << "," << c;
      }
    }
  }
}

TEST(InterMapGrid, RepeatedStencilsMatchASequentialJacobiSweep) {
  const long n = 24;
  Grid grid(context(), {std::uint64_t(n)}, {false});
  auto u = GridDataset<double>::generate(grid, [](auto c) { return c[0] == 12 ? 1.0 : 0.0; });
  std::vector<double> seq(n, 0.0);
  seq[12] = 1.0;
  for (int step = 0; step < 10; ++step) {
    u = u.stencil_map(
        [](const Stencil<double>& s) { return 0.25 * s(-1) + 0.5 * s(0) + 0.25 * s(1); });
    std::vector<double> next(n);
    for (long i = 0; i < n; ++i)
      next[i] =
          0.25 * (i > 0 ? seq[i - 1] : 0) + 0.5 * seq[i] + 0.25 * (i + 1 < n ? seq[i + 1] : 0);
    seq = next;
  }
  auto all = u.collect();
  for (long i = 0; i < n; ++i) EXPECT_DOUBLE_EQ(all[i], seq[i]) << i;
  EXPECT_DOUBLE_EQ(u.reduce([](double a, double b) { return a + b; }, 0.0),
                   std::accumulate(seq.begin(), seq.end(), 0.0));
}

TEST(InterMapGrid, BlocksThinnerThanTheHaloAreRefusedOnEveryRank) {
  EXPECT_THROW(Grid(context(), {std::uint64_t(context().size())}, {true}, 2),
               std::invalid_argument);
  EXPECT_THROW(Grid(context(), {4, 4}, {true}), std::invalid_argument);
}

namespace {

// A deterministic random graph: vertex v reads 0..4 neighbours, some of
// them repeated or itself, with weights.
std::vector<std::vector<Neighbor>> random_adjacency(std::uint64_t n) {
  std::vector<std::vector<Neighbor>> all(n);
  std::mt19937_64 rng(7);
  for (auto& list : all) {
    int degree = int(rng() % 5);
    for (int k = 0; k < degree; ++k) list.push_back({rng() % n, double(rng() % 10) / 4.0});
  }
  return all;
}

}  // namespace

TEST(InterMapGraph, NeighborReduceMatchesASequentialPass) {
  auto& ctx = context();
  const std::uint64_t n = 200;
  auto all = random_adjacency(n);
  std::uint64_t first = Graph::first_of(n, ctx.size(), ctx.rank());
  std::uint64_t last = Graph::first_of(n, ctx.size(), ctx.rank() + 1);
  Graph graph(ctx, n, {all.begin() + first, all.begin() + last});
  auto values =
      GraphDataset<double>::generate(graph, [](std::uint64_t v) { return double(v) + 0.5; });
  auto sums = values.neighbor_reduce([](double x, double w) { return w * x; },
                                     [](double a, double b) { return a + b; }, -1.0);
  auto result = sums.collect();
  ASSERT_EQ(result.size(), n);
  for (std::uint64_t v = 0; v < n; ++v) {
    double expected = -1.0;  // the identity: vertices without neighbours keep it
    for (const auto& e : all[v]) expected += e.weight * (double(e.id) + 0.5);
    EXPECT_DOUBLE_EQ(result[v], expected) << v;
  }
  // Neighbours come in adjacency order.
  auto firsts =
      values
          .neighbor_map([](const Vertex<double>& v) {
            return v.degree() ? long(v.neighbor_id(0)) * 1000 + long(v.neighbor_value(0)) : -1L;
          })
          .collect();
  for (std::uint64_t v = 0; v < n; ++v)
    EXPECT_EQ(firsts[v], all[v].empty() ? -1L : long(all[v][0].id) * 1001) << v;
}

TEST(InterMapGraph, ARingTalksOnlyToTheNeighbouringRanks) {
  auto& ctx = context();
  const std::uint64_t n = 60;
  std::uint64_t first = Graph::first_of(n, ctx.size(), ctx.rank());
  std::uint64_t last = Graph::first_of(n, ctx.size(), ctx.rank() + 1);
  std::vector<std::vector<Neighbor>> adjacency;
  for (std::uint64_t v = first; v < last; ++v)
    adjacency.push_back({{(v + n - 1) % n, 1.0}, {(v + 1) % n, 1.0}});
  Graph ring(ctx, n, adjacency);
  EXPECT_LE(ring.neighbor_ranks(), 2u);
  EXPECT_EQ(ring.ghost_count(), ctx.size() == 1 ? 0u : 2u);
  // Ten rounds of averaging with both neighbours conserve the total.
  auto x =
      GraphDataset<double>::generate(ring, [](std::uint64_t v) { return v == 0 ? 60.0 : 0.0; });
  for (int round = 0; round < 10; ++round) {
    x = x.neighbor_map([](const Vertex<double>& v) {
      return 0.5 * v.value() + 0.25 * (v.neighbor_value(0) + v.neighbor_value(1));
    });
  }
  auto values = x.collect();
  EXPECT_NEAR(std::accumulate(values.begin(), values.end(), 0.0), 60.0, 1e-9);
  EXPECT_GT(values[1], 0.0);
  EXPECT_EQ(values[30], 0.0);  // ten steps do not reach the far side
}

TEST(InterMapGraph, BadInputIsRefusedOnEveryRank) {
  auto& ctx = context();
  const std::uint64_t n = 10;
  std::uint64_t count =
      Graph::first_of(n, ctx.size(), ctx.rank() + 1) - Graph::first_of(n, ctx.size(), ctx.rank());
  std::vector<std::vector<Neighbor>> adjacency(count);
  if (ctx.rank() == 0) adjacency[0].push_back({99, 1.0});  // only rank 0 is wrong
  EXPECT_THROW(Graph(ctx, n, adjacency), std::invalid_argument);
  EXPECT_THROW(Graph(ctx, n, std::vector<std::vector<Neighbor>>(count + 1)), std::invalid_argument);
}

TEST(InterMapGrid, StencilReduceEqualsAStencilMapThenAReduction) {
  for (std::vector<std::uint64_t> extents :
       {std::vector<std::uint64_t>{40}, std::vector<std::uint64_t>{13, 9},
        std::vector<std::uint64_t>{6, 7, 8}}) {
    std::vector<bool> periodic(extents.size(), false);
    periodic[0] = true;
    Grid grid(context(), extents, periodic);
    auto field = GridDataset<long>::generate(
        grid,
        [](auto c) {
          long v = 1;
          for (auto x : c) v = v * 31 + long(x);
          return v % 1000;
        },
        -5);
    auto f = [](const Stencil<long>& s) {
      long left = s.coords().size() == 1 ? s(-1) : s.coords().size() == 2 ? s(-1, 0) : s(-1, 0, 0);
      return s.center() * 3 - left;
    };
    long expected = field.stencil_map(f).reduce([](long a, long b) { return a + b; }, 0L);
    long fused = field.stencil_reduce(
        f, [](long a, long b) { return a + b; }, 0L);
    EXPECT_EQ(fused, expected) << extents.size() << " dimensions";
    long top = field.stencil_reduce(
        f, [](long a, long b) { return std::max(a, b); }, -1000000L);
    EXPECT_EQ(
        top, field.stencil_map(f).reduce([](long a, long b) { return std::max(a, b); }, -1000000L));
  }
}
