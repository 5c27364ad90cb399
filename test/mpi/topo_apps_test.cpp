// SPDX-License-Identifier: GPL-2.0-or-later
//
// Topo's applications on real MPI ranks, each against a sequential
// reference: WordCount, PageRank, KMeans, TeraSort, GaBP (both
// formulations, against a direct solve) and the field stencil analysis
// (both formulations).
#include "topo/apps/field_stats.h"
#include "topo/apps/gabp.h"
#include "topo/apps/k_means.h"
#include "topo/apps/page_rank.h"
#include "topo/apps/tera_sort.h"
#include "topo/apps/word_count.h"
#include "topo_test_context.h"

#include <gtest/gtest.h>
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

using namespace topo;
using namespace topo::apps;
using topo::test::context;

namespace {

std::string shared_temp(const std::string& name) {
  char buffer[256] = {};
  if (context().rank() == 0) {
    auto path = std::filesystem::temp_directory_path() /
                ("topo-apps-" + std::to_string(::getpid()) + "-" + name);
    std::snprintf(buffer, sizeof buffer, "%s", path.c_str());
  }
  MPI_Bcast(buffer, sizeof buffer, MPI_CHAR, 0, MPI_COMM_WORLD);
  return buffer;
}

}  // namespace

TEST(Apps, WordCountMatchesASequentialCount) {
  std::string path = shared_temp("words.txt");
  std::string text;
  std::mt19937 rng(3);
  const char* words[] = {"alpha", "beta", "gamma", "delta", "ε", "x"};
  for (int line = 0; line < 500; ++line) {
    int n = int(rng() % 12);
    for (int w = 0; w < n; ++w) text += std::string(words[rng() % 6]) + (rng() % 3 ? " " : " \t ");
    text += "\n";
  }
  if (context().rank() == 0) std::ofstream(path) << text;
  MPI_Barrier(MPI_COMM_WORLD);
  auto counts = word_count(Dataset<std::string>::read_text(context(), path)).collect();
  auto from_chunks =
      word_count(Dataset<std::string>::read_text_chunks(context(), path, 100)).collect();
  std::map<std::string, std::uint64_t> by_lines(counts.begin(), counts.end());
  std::map<std::string, std::uint64_t> by_chunks(from_chunks.begin(), from_chunks.end());
  EXPECT_EQ(by_chunks, by_lines);
  std::map<std::string, std::uint64_t> expected;
  std::istringstream in(text);
  for (std::string w; in >> w;) ++expected[w];
  std::map<std::string, std::uint64_t> got(counts.begin(), counts.end());
  EXPECT_EQ(got, expected);
  MPI_Barrier(MPI_COMM_WORLD);
  if (context().rank() == 0) std::filesystem::remove(path);
}

TEST(Apps, PageRankMatchesASequentialPowerIteration) {
  auto& ctx = context();
  const std::uint64_t n = 300;
  auto edge = [](std::uint64_t i) {
    return Edge(i % 250, (i * 7 + i / 250) % 300);  // vertices 250..299 only receive: dangling
  };
  auto edges = Dataset<Edge>::generate(ctx, 2000, edge);
  auto links = link_graph(ctx, edges, n);
  auto ranks = page_rank(links, 30).collect();

  std::vector<std::uint64_t> out(n, 0);
  std::vector<std::vector<std::uint64_t>> in(n);
  for (std::uint64_t i = 0; i < 2000; ++i) {
    auto [s, t] = edge(i);
    ++out[s];
    in[t].push_back(s);
  }
  std::vector<double> r(n, 1.0 / n);
  for (int it = 0; it < 30; ++it) {
    double dangling = 0;
    for (std::uint64_t v = 0; v < n; ++v)
      if (!out[v]) dangling += r[v];
    std::vector<double> next(n);
    for (std::uint64_t v = 0; v < n; ++v) {
      double sum = 0;
      for (auto u : in[v]) sum += r[u] / out[u];
      next[v] = 0.15 / n + 0.85 * (sum + dangling / n);
    }
    r = next;
  }
  ASSERT_EQ(ranks.size(), n);
  double total = 0;
  for (std::uint64_t v = 0; v < n; ++v) {
    EXPECT_NEAR(ranks[v], r[v], 1e-12) << v;
    total += ranks[v];
  }
  EXPECT_NEAR(total, 1.0, 1e-9);
}

TEST(Apps, KMeansMatchesSequentialLloyd) {
  auto& ctx = context();
  using P = Point<2>;
  auto point = [](std::uint64_t i) {
    std::mt19937_64 rng(i);
    std::normal_distribution<double> noise(0, 0.5);
    const P centres[] = {{0, 0}, {5, 5}, {-4, 6}};
    const P& c = centres[i % 3];
    return P{c[0] + noise(rng), c[1] + noise(rng)};
  };
  auto points = Dataset<P>::generate(ctx, 3000, point);
  std::vector<P> init{point(0), point(1), point(2)};
  auto result = k_means(points, init, 20, 0.0);

  std::vector<P> all(3000), centres = init;
  for (std::uint64_t i = 0; i < all.size(); ++i) all[i] = point(i);
  int iterations = 0;
  for (; iterations < 20;) {
    ++iterations;
    std::vector<P> sum(3, P{0, 0});
    std::vector<int> count(3, 0);
    for (const auto& p : all) {
      auto c = nearest(p, centres);
      sum[c][0] += p[0], sum[c][1] += p[1], ++count[c];
    }
    double moved = 0;
    for (int c = 0; c < 3; ++c) {
      if (!count[c]) continue;
      P next{sum[c][0] / count[c], sum[c][1] / count[c]};
      moved = std::max(moved, std::hypot(next[0] - centres[c][0], next[1] - centres[c][1]));
      centres[c] = next;
    }
    if (moved <= 0) break;
  }
  EXPECT_EQ(result.iterations, iterations);
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(result.centers[c][0], centres[c][0], 1e-9);
    EXPECT_NEAR(result.centers[c][1], centres[c][1], 1e-9);
  }
  // The three true centres are found (in some order).
  for (const P& truth : {P{0, 0}, P{5, 5}, P{-4, 6}}) {
    double best = 1e9;
    for (const P& c : result.centers)
      best = std::min(best, std::hypot(c[0] - truth[0], c[1] - truth[1]));
    EXPECT_LT(best, 0.1);
  }
}

TEST(Apps, TeraSortOrdersEveryRecordAcrossRanks) {
  auto& ctx = context();
  auto records = generate_records(ctx, 20000, 42);
  auto sorted = tera_sort(records);
  EXPECT_TRUE(globally_sorted(sorted));
  EXPECT_FALSE(globally_sorted(records));
  EXPECT_EQ(sorted.count(), 20000u);
  EXPECT_EQ(checksum(sorted), checksum(records));
  std::vector<Record> expected(20000);
  for (std::uint64_t i = 0; i < expected.size(); ++i) expected[i] = make_record(42, i);
  std::sort(expected.begin(), expected.end(), key_less);
  auto all = sorted.collect();
  ASSERT_EQ(all.size(), expected.size());
  for (std::size_t i = 0; i < all.size(); ++i)
    ASSERT_EQ(std::memcmp(&all[i], &expected[i], sizeof(Record)), 0) << i;
}

namespace {

// x of the m^2 Poisson system by Gaussian elimination (dense, small m).
std::vector<double> direct_solve(std::uint64_t m, const std::vector<double>& b) {
  std::size_t n = m * m;
  std::vector<double> a(n * n, 0.0), x = b;
  auto rows = poisson_rows(m, 0, n, [](std::uint64_t) { return 0.0; });
  for (std::size_t i = 0; i < n; ++i) {
    a[i * n + i] = rows[i].diag;
    for (const auto& e : rows[i].off) a[i * n + e.id] = e.weight;
  }
  for (std::size_t k = 0; k < n; ++k) {
    for (std::size_t i = k + 1; i < n; ++i) {
      double f = a[i * n + k] / a[k * n + k];
      if (f == 0) continue;
      for (std::size_t j = k; j < n; ++j) a[i * n + j] -= f * a[k * n + j];
      x[i] -= f * x[k];
    }
  }
  for (std::size_t i = n; i-- > 0;) {
    for (std::size_t j = i + 1; j < n; ++j) x[i] -= a[i * n + j] * x[j];
    x[i] /= a[i * n + i];
  }
  return x;
}

}  // namespace

TEST(Apps, GaBPSolvesAPoissonProblemLikeADirectSolveBothWays) {
  auto& ctx = context();
  const std::uint64_t m = 12, n = m * m;
  auto rhs = [m](std::uint64_t id) {
    double x = double(id % m + 1) / double(m + 1), y = double(id / m + 1) / double(m + 1);
    return std::sin(M_PI * x) * std::sin(2 * M_PI * y) + 0.1;
  };
  std::uint64_t first = Graph::first_of(n, ctx.size(), ctx.rank());
  std::uint64_t last = Graph::first_of(n, ctx.size(), ctx.rank() + 1);
  auto rows = poisson_rows(m, first, last, rhs);
  std::vector<double> b(n);
  for (std::uint64_t i = 0; i < n; ++i) b[i] = rhs(i);
  auto exact = direct_solve(m, b);

  auto inter = gabp_intermap(ctx, n, rows, 2000, 1e-10);
  auto shuffled = gabp_shuffle(ctx, n, rows, 2000, 1e-10);
  EXPECT_LT(inter.change, 1e-10);
  EXPECT_EQ(inter.iterations, shuffled.iterations);  // the same algorithm
  ASSERT_EQ(inter.x.size(), last - first);
  ASSERT_EQ(shuffled.x.size(), last - first);
  for (std::uint64_t i = first; i < last; ++i) {
    EXPECT_NEAR(inter.x[i - first], exact[i], 1e-7) << i;
    EXPECT_NEAR(shuffled.x[i - first], inter.x[i - first], 1e-12) << i;
  }
}

TEST(Apps, FieldStatsAgreeBetweenInterMapShufflesAndASequentialPass) {
  auto& ctx = context();
  const std::uint64_t n = 12;
  const double h = 2 * M_PI / n;
  std::vector<double> field(n * n * n);
  for (std::uint64_t z = 0; z < n; ++z)
    for (std::uint64_t y = 0; y < n; ++y)
      for (std::uint64_t x = 0; x < n; ++x)
        field[(z * n + y) * n + x] =
            std::sin(x * h) * std::cos(2.0 * y * h) + 0.3 * std::sin(z * h);
  std::string path = shared_temp("u.bin");
  if (ctx.rank() == 0)
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(field.data()), std::streamsize(field.size() * 8));
  MPI_Barrier(MPI_COMM_WORLD);

  FieldSums seq;
  auto at = [&](long z, long y, long x) {
    long m = long(n);
    return field[(((z + m) % m) * m + (y + m) % m) * m + (x + m) % m];
  };
  for (long z = 0; z < long(n); ++z)
    for (long y = 0; y < long(n); ++y)
      for (long x = 0; x < long(n); ++x)
        seq = FieldSums::combine(
            seq, cell_sums(at(z, y, x), (at(z, y, x + 1) - at(z, y, x - 1)) / (2 * h),
                           (at(z, y + 1, x) - at(z, y - 1, x)) / (2 * h),
                           (at(z + 1, y, x) - at(z - 1, y, x)) / (2 * h)));
  FieldStats expected = seq.stats(double(n * n * n));

  Grid grid(ctx, {n, n, n}, {true, true, true});
  auto u = GridDataset<double>::read_raw(grid, path);
  FieldStats inter = field_stats_intermap(u, h);
  FieldStats shuffled = field_stats_shuffle(Dataset<double>::read_binary(ctx, path), n, h);
  for (const FieldStats& s : {inter, shuffled}) {
    EXPECT_NEAR(s.mean, expected.mean, 1e-12);
    EXPECT_NEAR(s.rms, expected.rms, 1e-12);
    EXPECT_DOUBLE_EQ(s.max, expected.max);
    EXPECT_NEAR(s.gradient2, expected.gradient2, 1e-10);
  }
  EXPECT_GT(expected.gradient2, 0.1);
  // A file of the wrong size is refused on every rank.
  EXPECT_THROW(GridDataset<double>::read_raw(Grid(ctx, {n, n, n + 1}, {true, true, true}), path),
               std::runtime_error);
  MPI_Barrier(MPI_COMM_WORLD);
  if (ctx.rank() == 0) std::filesystem::remove(path);
}
