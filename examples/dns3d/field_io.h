// SPDX-License-Identifier: GPL-2.0-or-later
//
// Fields on disk: one file per field and snapshot, the global N^3 array of
// doubles (x fastest, then y, then z), written and read collectively with
// MPI-IO, each rank its x-pencil. Checkpoints are written beside, then
// renamed into place, so a crash mid-write leaves the previous one.
#pragma once

#include "pencil.h"

#include <string>
#include <vector>

namespace dns3d {

void write_field(const PencilGrid& grid, const std::string& path, const std::vector<double>& u);
void read_field(const PencilGrid& grid, const std::string& path, std::vector<double>& u);

}  // namespace dns3d
