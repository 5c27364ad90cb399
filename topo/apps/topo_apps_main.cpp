// SPDX-License-Identifier: GPL-2.0-or-later
//
// topo-apps: Topo's applications from the command line (run under mpiexec
// or srun). Each prints its result summary and the seconds it took from
// reading its input to its result ("seconds: S"), and with --json FILE
// appends one JSON line with both.
//
//   topo-apps wordcount --input TEXT
//   topo-apps pagerank  --edges FILE --vertices N [--iterations 20]
//   topo-apps kmeans    --points FILE --dims D --k K [--iterations 10]
//   topo-apps terasort  --records N [--seed S] [--output FILE]
//   topo-apps gabp      --grid M [--formulation intermap|shuffle]
//                       [--iterations 5000] [--tolerance 1e-8]
//
// Binary inputs: pagerank edges are pairs of little-endian uint64 (source,
// target); kmeans points are D float64 each. topo/bench/apps_bench.sh
// makes them.
#include "topo/apps/gabp.h"
#include "topo/apps/k_means.h"
#include "topo/apps/page_rank.h"
#include "topo/apps/tera_sort.h"
#include "topo/apps/word_count.h"

#include "converge/cli.h"

#include <mpi.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>

namespace {

using namespace topo;
using namespace topo::apps;

struct Args {
  std::string command;
  unsigned workers = 1;
  std::string json;
  std::string input;  // wordcount
  std::string edges;  // pagerank
  std::uint64_t vertices = 0;
  int iterations = 0;  // per command: 20 (pagerank), 10 (kmeans), 5000 (gabp)
  std::string points;  // kmeans
  int dims = 0;
  std::size_t k = 0;
  std::uint64_t records = 0, seed = 1;  // terasort
  std::string output;
  std::uint64_t grid = 0;  // gabp
  std::string formulation = "intermap";
  double tolerance = 1e-8;
};

// The commands and their options; every command takes --workers and --json.
void declare(CLI::App& app, Args& a) {
  app.require_subcommand(1);
  auto common = [&](CLI::App* c) {
    c->add_option("--workers", a.workers, "FinD workers per rank")->check(CLI::Range(1u, 1024u));
    c->add_option("--json", a.json, "append one JSON line with the result to FILE");
    c->callback([&a, c] { a.command = c->get_name(); });
    return c;
  };
  auto* wc = common(app.add_subcommand("wordcount", "count the words of a text file"));
  wc->add_option("--input", a.input, "text file")->required();
  auto* pr = common(app.add_subcommand("pagerank", "PageRank of a graph"));
  pr->add_option("--edges", a.edges, "pairs of little-endian uint64 (source, target)")->required();
  pr->add_option("--vertices", a.vertices, "vertex count")
      ->required()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 40));
  pr->add_option("--iterations", a.iterations, "iterations (20)")->check(CLI::Range(1, 1000000));
  auto* km = common(app.add_subcommand("kmeans", "k-means clustering"));
  km->add_option("--points", a.points, "D float64 per point")->required();
  km->add_option("--dims", a.dims, "2, 3, 4 or 8")->required()->check(CLI::IsMember({2, 3, 4, 8}));
  km->add_option("--k", a.k, "clusters")
      ->required()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
  km->add_option("--iterations", a.iterations, "iterations (10)")->check(CLI::Range(1, 1000000));
  auto* ts = common(app.add_subcommand("terasort", "sort generated 100-byte records"));
  ts->add_option("--records", a.records, "record count")->required();
  ts->add_option("--seed", a.seed, "generator seed");
  ts->add_option("--output", a.output, "write the sorted records to FILE");
  auto* gb = common(app.add_subcommand("gabp", "Gaussian belief propagation on a Poisson grid"));
  gb->add_option("--grid", a.grid, "grid side M (M*M unknowns)")
      ->required()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 20));
  gb->add_option("--formulation", a.formulation, "intermap or shuffle")
      ->check(CLI::IsMember({"intermap", "shuffle"}));
  gb->add_option("--iterations", a.iterations, "iterations (5000)")->check(CLI::Range(1, 10000000));
  gb->add_option("--tolerance", a.tolerance, "stop when no value moves more")
      ->check(CLI::Range(1e-300, 1.0));
}

struct EdgeRecord {
  std::uint64_t source, target;
};

nlohmann::json word_count_app(Context& ctx, const Args& a) {
  auto counts = word_count(Dataset<std::string>::read_text_chunks(ctx, a.input));
  std::uint64_t total = counts.map([](const auto& wc) { return wc.second; })
                            .reduce([](std::uint64_t x, std::uint64_t y) { return x + y; }, 0);
  auto top = counts.take_ordered(5, [](const auto& x, const auto& y) {
    return x.second != y.second ? x.second > y.second : x.first < y.first;
  });
  nlohmann::json r{{"words", total}, {"distinct", counts.count()}};
  for (const auto& [w, c] : top) r["top"].push_back({w, c});
  return r;
}

nlohmann::json page_rank_app(Context& ctx, const Args& a) {
  std::uint64_t vertices = a.vertices;
  auto edges = Dataset<EdgeRecord>::read_binary(ctx, a.edges).map([](const EdgeRecord& e) {
    return Edge(e.source, e.target);
  });
  auto bad =
      edges.filter([&](const Edge& e) { return e.first >= vertices || e.second >= vertices; });
  if (bad.count() != 0)
    throw std::invalid_argument(a.edges + ": an edge names a vertex >= --vertices");
  auto links = link_graph(ctx, edges, vertices);
  auto ranks = page_rank(links, a.iterations ? a.iterations : 20);
  std::vector<std::pair<double, std::uint64_t>> mine;
  for (std::uint64_t i = 0; i < links.graph.local_count(); ++i)
    mine.emplace_back(ranks[i], links.graph.first() + i);
  Dataset<std::pair<double, std::uint64_t>> by_rank(ctx, std::move(mine));
  double sum = by_rank.map([](const auto& p) { return p.first; }).reduce(std::plus<>(), 0.0);
  nlohmann::json r{{"vertices", vertices}, {"edges", edges.count()}, {"rank_sum", sum}};
  for (const auto& [rank, v] : by_rank.take_ordered(5, std::greater<>()))
    r["top"].push_back({v, rank});
  return r;
}

template <std::size_t D>
nlohmann::json k_means_app(Context& ctx, const Args& a) {
  auto points = Dataset<Point<D>>::read_binary(ctx, a.points);
  std::size_t k = a.k;
  auto initial = points.take(k);
  if (initial.size() < k) throw std::invalid_argument("fewer points than --k");
  auto result = k_means(points, initial, a.iterations ? a.iterations : 10);
  nlohmann::json r{{"points", points.count()}, {"iterations", result.iterations}};
  for (const auto& c : result.centers)
    r["centers"].push_back(std::vector<double>(c.begin(), c.end()));
  return r;
}

nlohmann::json tera_sort_app(Context& ctx, const Args& a) {
  auto records = generate_records(ctx, a.records, a.seed);
  auto sorted = tera_sort(records);
  bool ok = globally_sorted(sorted) && checksum(sorted) == checksum(records);
  if (!a.output.empty()) sorted.save_binary(a.output);
  return {{"records", sorted.count()}, {"valid", ok}};
}

nlohmann::json gabp_app(Context& ctx, const Args& a) {
  std::uint64_t m = a.grid, n = m * m;
  const std::string& formulation = a.formulation;
  auto rhs = [m](std::uint64_t id) {
    // id / m is the row: integer division on purpose.
    double x = double(id % m + 1) / double(m + 1),
           y = double(id / m + 1) / double(m + 1);  // NOLINT(bugprone-integer-division)
    return std::sin(M_PI * x) * std::sin(M_PI * y);
  };
  auto rows = poisson_rows(m, Graph::first_of(n, ctx.size(), ctx.rank()),
                           Graph::first_of(n, ctx.size(), ctx.rank() + 1), rhs);
  int iterations = a.iterations ? a.iterations : 5000;
  double tolerance = a.tolerance;
  GaBPResult result;
  if (formulation == "intermap")
    result = gabp_intermap(ctx, n, rows, iterations, tolerance);
  else if (formulation == "shuffle")
    result = gabp_shuffle(ctx, n, rows, iterations, tolerance);
  else
    throw std::invalid_argument("--formulation: expected intermap or shuffle");
  // Residual |A x - b|_inf of the result, with the neighbours' x from a collect.
  std::vector<double> x = Dataset<double>(ctx, result.x).collect();
  double residual = 0;
  for (const auto& row : rows) {
    std::uint64_t i = &row - rows.data() + Graph::first_of(n, ctx.size(), ctx.rank());
    double ax = row.diag * x[i];
    for (const auto& e : row.off) ax += e.weight * x[e.id];
    residual = std::max(residual, std::abs(ax - row.b));
  }
  return {{"unknowns", n},
          {"formulation", formulation},
          {"iterations", result.iterations},
          {"change", result.change},
          {"residual", ctx.max_double(residual)}};
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int status = converge::cli::run("topo-apps", [&] {
    // Every rank parses; rank 0 alone prints help and errors.
    Args a;
    CLI::App app{"Topo's applications (run under mpiexec or srun)", "topo-apps"};
    declare(app, a);
    converge::cli::parse(app, argc, argv, rank == 0);
    topo::find::Scheduler local({a.workers, false, false});
    Context ctx(MPI_COMM_WORLD, local);
    MPI_Barrier(MPI_COMM_WORLD);
    double start = MPI_Wtime();
    nlohmann::json result;
    if (a.command == "wordcount") {
      result = word_count_app(ctx, a);
    } else if (a.command == "pagerank") {
      result = page_rank_app(ctx, a);
    } else if (a.command == "kmeans") {
      switch (a.dims) {
        case 2:
          result = k_means_app<2>(ctx, a);
          break;
        case 3:
          result = k_means_app<3>(ctx, a);
          break;
        case 4:
          result = k_means_app<4>(ctx, a);
          break;
        default:
          result = k_means_app<8>(ctx, a);
          break;
      }
    } else if (a.command == "terasort") {
      result = tera_sort_app(ctx, a);
    } else {
      result = gabp_app(ctx, a);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    double seconds = MPI_Wtime() - start;
    if (rank == 0) {
      result["app"] = a.command;
      result["ranks"] = ctx.size();
      result["seconds"] = seconds;
      std::printf("%s\nseconds: %.4f\n", result.dump().c_str(), seconds);
      if (!a.json.empty()) std::ofstream(a.json, std::ios::app) << result.dump() << "\n";
    }
    return 0;
  });
  MPI_Finalize();
  return status;
}
