// SPDX-License-Identifier: GPL-2.0-or-later
//
// dns3d-analyse: the analysis of dns3d's output as a Topo program over MPI
// ranks. Each snapshot u_*.bin (the periodic N^3 field, x fastest) is read
// into a Topo grid partitioned over the ranks, and a stencil_map computes
// per-snapshot statistics: mean, rms, max |u| and the mean squared gradient
// by central differences (InterMap: each rank swaps halos with its
// neighbouring blocks only). --formulation shuffle computes the same with a
// flat_map and group_by_key instead, for comparison. Between snapshots it
// measures the field's decay rate and compares it with the exact one
// (3 nu); the report goes to stdout and to --report (JSON). The demo runs
// the same analysis as tasks of the Topo service (topo-service submit
// dns3d-stats); dns3d-analyse-mpi is it written directly on MPI.
#include "topo/apps/dns3d_analysis.h"
#include "topo/apps/field_stats.h"
#include "topo/core/dataset.h"
#include "topo/intermap/grid_dataset.h"

#include <mpi.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

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
    auto run = topo::apps::read_dns3d_run(in);
    auto files = topo::apps::dns3d_snapshots(in);
    // One FinD worker per rank: the ranks already cover the cores.
    topo::find::Scheduler local({1, false, false});
    topo::Context ctx(MPI_COMM_WORLD, local);
    std::vector<std::pair<int, topo::apps::FieldStats>> stats;
    double start = MPI_Wtime();
    if (formulation == "intermap") {
      topo::Grid grid(ctx, {run.n, run.n, run.n}, {true, true, true});
      for (const auto& [step, path] : files) {
        auto u = topo::GridDataset<double>::read_raw(grid, path);
        stats.emplace_back(step, topo::apps::field_stats_intermap(u, run.spacing()));
      }
    } else {
      for (const auto& [step, path] : files) {
        auto u = topo::Dataset<double>::read_binary(ctx, path);
        stats.emplace_back(step, topo::apps::field_stats_shuffle(u, run.n, run.spacing()));
      }
    }
    double seconds = MPI_Wtime() - start;
    if (rank == 0) {
      char header[160];
      std::snprintf(header, sizeof header,
                    "dns3d-analyse: %zu snapshots of %llu^3 on %d ranks (Topo, %s, %.3f s)",
                    stats.size(), static_cast<unsigned long long>(run.n), size, formulation.c_str(),
                    seconds);
      auto json = topo::apps::dns3d_report(header, run, stats);
      json["formulation"] = formulation;
      json["ranks"] = size;
      json["seconds"] = seconds;
      if (!report.empty()) std::ofstream(report) << json.dump(2) << "\n";
    }
  } catch (const std::exception& e) {
    if (rank == 0) std::fprintf(stderr, "dns3d-analyse: %s\n", e.what());
    status = 1;
  }
  MPI_Finalize();
  return status;
}
