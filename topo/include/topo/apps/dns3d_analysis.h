// SPDX-License-Identifier: GPL-2.0-or-later
//
// What the analyses of dns3d's output share, whichever way they run
// (dns3d-analyse over MPI ranks, or tasks of the Topo service): the run's
// parameters (run.json), its snapshots (u_<step>.bin) and the report (a
// table on stdout, JSON with --report): per-snapshot statistics and the
// field's decay rate against the exact one (3 nu).
#pragma once

#include "topo/apps/field_stats.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace topo::apps {

struct Dns3dRun {
  std::uint64_t n = 0;
  double nu = 0, dt = 0;
  double spacing() const;  // 2 pi / n
};

// Throws std::runtime_error naming the file when it is missing or lacks a field.
Dns3dRun read_dns3d_run(const std::string& dir);

// (step, path) of every u_<step>.bin in dir, by step; throws if there is none.
std::vector<std::pair<int, std::string>> dns3d_snapshots(const std::string& dir);

// Prints `header` and the table to stdout and returns the JSON report.
nlohmann::json dns3d_report(const std::string& header, const Dns3dRun& run,
                            const std::vector<std::pair<int, FieldStats>>& stats);

}  // namespace topo::apps
