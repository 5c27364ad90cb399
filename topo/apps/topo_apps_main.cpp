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
#include "apps/gabp.h"
#include "apps/k_means.h"
#include "apps/page_rank.h"
#include "apps/tera_sort.h"
#include "apps/word_count.h"

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
  std::map<std::string, std::string> options;

  std::string get(const std::string& name, const std::string& fallback = "") const {
    auto it = options.find(name);
    if (it != options.end()) return it->second;
    if (fallback.empty()) throw std::invalid_argument(command + " needs --" + name);
    return fallback;
  }
  std::uint64_t number(const std::string& name, const std::string& fallback = "") const {
    std::string text = get(name, fallback);
    std::size_t used = 0;
    std::uint64_t value = std::stoull(text, &used);
    if (used != text.size()) throw std::invalid_argument("--" + name + ": not a number: " + text);
    return value;
  }
};

constexpr const char* kUsage =
    "usage: topo-apps wordcount --input TEXT\n"
    "       topo-apps pagerank  --edges FILE --vertices N [--iterations 20]\n"
    "       topo-apps kmeans    --points FILE --dims 2|3|4|8 --k K [--iterations 10]\n"
    "       topo-apps terasort  --records N [--seed S] [--output FILE]\n"
    "       topo-apps gabp      --grid M [--formulation intermap|shuffle] [--iterations 5000]\n"
    "                           [--tolerance 1e-8]\n"
    "every command also takes --workers W (FinD workers per rank, 1) and --json FILE\n";

Args parse(int argc, char** argv) {
  if (argc < 2) throw std::invalid_argument("no command (topo-apps --help lists them)");
  Args a{argv[1], {}};
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0 || i + 1 >= argc)
      throw std::invalid_argument("expected --option value, got " + arg);
    a.options[arg.substr(2)] = argv[++i];
  }
  return a;
}

struct EdgeRecord {
  std::uint64_t source, target;
};

nlohmann::json word_count_app(Context& ctx, const Args& a) {
  auto counts = word_count(Dataset<std::string>::read_text_chunks(ctx, a.get("input")));
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
  std::uint64_t vertices = a.number("vertices");
  auto edges = Dataset<EdgeRecord>::read_binary(ctx, a.get("edges")).map([](const EdgeRecord& e) {
    return Edge(e.source, e.target);
  });
  auto bad =
      edges.filter([&](const Edge& e) { return e.first >= vertices || e.second >= vertices; });
  if (bad.count() != 0)
    throw std::invalid_argument(a.get("edges") + ": an edge names a vertex >= --vertices");
  auto links = link_graph(ctx, edges, vertices);
  auto ranks = page_rank(links, static_cast<int>(a.number("iterations", "20")));
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
  auto points = Dataset<Point<D>>::read_binary(ctx, a.get("points"));
  std::size_t k = a.number("k");
  auto initial = points.take(k);
  if (initial.size() < k) throw std::invalid_argument("fewer points than --k");
  auto result = k_means(points, initial, static_cast<int>(a.number("iterations", "10")));
  nlohmann::json r{{"points", points.count()}, {"iterations", result.iterations}};
  for (const auto& c : result.centers)
    r["centers"].push_back(std::vector<double>(c.begin(), c.end()));
  return r;
}

nlohmann::json tera_sort_app(Context& ctx, const Args& a) {
  auto records = generate_records(ctx, a.number("records"), a.number("seed", "1"));
  auto sorted = tera_sort(records);
  bool ok = globally_sorted(sorted) && checksum(sorted) == checksum(records);
  if (a.options.count("output")) sorted.save_binary(a.get("output"));
  return {{"records", sorted.count()}, {"valid", ok}};
}

nlohmann::json gabp_app(Context& ctx, const Args& a) {
  std::uint64_t m = a.number("grid"), n = m * m;
  std::string formulation = a.get("formulation", "intermap");
  auto rhs = [m](std::uint64_t id) {
    double x = double(id % m + 1) / double(m + 1), y = double(id / m + 1) / double(m + 1);
    return std::sin(M_PI * x) * std::sin(M_PI * y);
  };
  auto rows = poisson_rows(m, Graph::first_of(n, ctx.size(), ctx.rank()),
                           Graph::first_of(n, ctx.size(), ctx.rank() + 1), rhs);
  int iterations = static_cast<int>(a.number("iterations", "5000"));
  double tolerance = std::stod(a.get("tolerance", "1e-8"));
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
  int rank = 0, status = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  try {
    if (argc == 2 && std::string(argv[1]) == "--help") {
      if (rank == 0) std::fputs(kUsage, stdout);
      MPI_Finalize();
      return 0;
    }
    Args a = parse(argc, argv);
    topo::find::Scheduler local({static_cast<unsigned>(a.number("workers", "1")), false, false});
    Context ctx(MPI_COMM_WORLD, local);
    MPI_Barrier(MPI_COMM_WORLD);
    double start = MPI_Wtime();
    nlohmann::json result;
    if (a.command == "wordcount")
      result = word_count_app(ctx, a);
    else if (a.command == "pagerank")
      result = page_rank_app(ctx, a);
    else if (a.command == "kmeans") {
      switch (a.number("dims")) {
        case 2:
          result = k_means_app<2>(ctx, a);
          break;
        case 3:
          result = k_means_app<3>(ctx, a);
          break;
        case 4:
          result = k_means_app<4>(ctx, a);
          break;
        case 8:
          result = k_means_app<8>(ctx, a);
          break;
        default:
          throw std::invalid_argument("--dims: 2, 3, 4 or 8");
      }
    } else if (a.command == "terasort")
      result = tera_sort_app(ctx, a);
    else if (a.command == "gabp")
      result = gabp_app(ctx, a);
    else
      throw std::invalid_argument("unknown command " + a.command);
    MPI_Barrier(MPI_COMM_WORLD);
    double seconds = MPI_Wtime() - start;
    if (rank == 0) {
      result["app"] = a.command;
      result["ranks"] = ctx.size();
      result["seconds"] = seconds;
      std::printf("%s\nseconds: %.4f\n", result.dump().c_str(), seconds);
      if (a.options.count("json"))
        std::ofstream(a.get("json"), std::ios::app) << result.dump() << "\n";
    }
  } catch (const std::exception& e) {
    if (rank == 0) std::fprintf(stderr, "topo-apps: %s\n", e.what());
    status = 1;
  }
  MPI_Finalize();
  return status;
}
