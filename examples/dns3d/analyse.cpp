// SPDX-License-Identifier: GPL-2.0-or-later
//
// dns3d-analyse: the analysis step that follows dns3d in Converge's demo
// workflow, a Topo program. Each snapshot u_*.bin (the periodic N^3 field,
// x fastest) is read into a Topo grid partitioned over the ranks, and a
// stencil_map computes per-snapshot statistics: mean, rms, max |u| and the
// mean squared gradient by central differences (InterMap: each rank swaps
// halos with its neighbouring blocks only). --formulation shuffle computes
// the same with a flat_map and group_by_key instead, for comparison.
// Between snapshots it measures the field's decay rate and compares it with
// the exact one (3 nu); the report goes to stdout and to --report (JSON).
// dns3d-analyse-mpi is the same analysis written directly on MPI.
#include "apps/field_stats.h"
#include "core/dataset.h"
#include "intermap/grid_dataset.h"

#include <mpi.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct Run {
  std::uint64_t n = 0;
  double nu = 0, dt = 0;
};

Run read_run(const std::string& dir) {
  std::ifstream in(dir + "/run.json");
  if (!in) throw std::runtime_error("cannot read " + dir + "/run.json (is it dns3d output?)");
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.contains("n") || !j.contains("nu") || !j.contains("dt"))
    throw std::runtime_error(dir + "/run.json lacks n, nu or dt (is it dns3d output?)");
  return {j["n"].get<std::uint64_t>(), j["nu"].get<double>(), j["dt"].get<double>()};
}

// u_<step>.bin files, by step.
std::vector<std::pair<int, std::string>> snapshots(const std::string& dir) {
  std::vector<std::pair<int, std::string>> found;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (name.size() < 7 || name.rfind("u_", 0) != 0 || name.substr(name.size() - 4) != ".bin")
      continue;
    std::string digits = name.substr(2, name.size() - 6);
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) continue;
    found.emplace_back(std::stoi(digits), e.path().string());
  }
  std::sort(found.begin(), found.end());
  if (found.empty()) throw std::runtime_error("no u_*.bin snapshots in " + dir);
  return found;
}

constexpr const char* kUsage =
    "usage: dns3d-analyse --in DIR [--report FILE] [--formulation intermap|shuffle]";

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1, status = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  try {
    std::string in, report, formulation = "intermap";
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--in" && i + 1 < argc)
        in = argv[++i];
      else if (arg == "--report" && i + 1 < argc)
        report = argv[++i];
      else if (arg == "--formulation" && i + 1 < argc)
        formulation = argv[++i];
      else
        throw std::invalid_argument(kUsage);
    }
    if (in.empty() || (formulation != "intermap" && formulation != "shuffle"))
      throw std::invalid_argument(kUsage);
    Run run = read_run(in);
    auto files = snapshots(in);
    // One FinD worker per rank: the ranks already cover the cores.
    topo::find::Scheduler local({1, false, false});
    topo::Context ctx(MPI_COMM_WORLD, local);
    const double h = 2 * M_PI / double(run.n);
    std::vector<std::pair<int, topo::apps::FieldStats>> stats;
    auto start = MPI_Wtime();
    if (formulation == "intermap") {
      topo::Grid grid(ctx, {run.n, run.n, run.n}, {true, true, true});
      for (const auto& [step, path] : files) {
        auto u = topo::GridDataset<double>::read_raw(grid, path);
        stats.emplace_back(step, topo::apps::field_stats_intermap(u, h));
      }
    } else {
      for (const auto& [step, path] : files) {
        auto u = topo::Dataset<double>::read_binary(ctx, path);
        stats.emplace_back(step, topo::apps::field_stats_shuffle(u, run.n, h));
      }
    }
    double seconds = MPI_Wtime() - start;
    if (rank == 0) {
      nlohmann::json json{{"n", run.n},
                          {"nu", run.nu},
                          {"formulation", formulation},
                          {"ranks", size},
                          {"seconds", seconds}};
      std::printf("dns3d-analyse: %zu snapshots of %llu^3 on %d ranks (Topo, %s, %.3f s)\n",
                  stats.size(), static_cast<unsigned long long>(run.n), size, formulation.c_str(),
                  seconds);
      std::printf("%8s %12s %12s %12s %12s %12s\n", "step", "time", "mean", "rms", "max|u|",
                  "<|grad u|^2>");
      for (const auto& [step, s] : stats) {
        std::printf("%8d %12.5f %12.3e %12.5e %12.5e %12.5e\n", step, step * run.dt, s.mean, s.rms,
                    s.max, s.gradient2);
        json["snapshots"].push_back({{"step", step},
                                     {"mean", s.mean},
                                     {"rms", s.rms},
                                     {"max", s.max},
                                     {"gradient2", s.gradient2}});
      }
      double rate = 0;
      if (stats.size() >= 2) {
        const auto &a = stats.front(), &b = stats.back();
        rate = std::log(a.second.rms / b.second.rms) / ((b.first - a.first) * run.dt);
        std::printf("decay rate %.5f, exact %.5f (relative difference %.2e)\n", rate, 3 * run.nu,
                    std::abs(rate - 3 * run.nu) / (3 * run.nu));
      }
      json["decay_rate"] = rate;
      json["exact_decay_rate"] = 3 * run.nu;
      if (!report.empty()) std::ofstream(report) << json.dump(2) << "\n";
    }
  } catch (const std::exception& e) {
    if (rank == 0) std::fprintf(stderr, "dns3d-analyse: %s\n", e.what());
    status = 1;
  }
  MPI_Finalize();
  return status;
}
