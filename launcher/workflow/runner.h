// SPDX-License-Identifier: GPL-2.0-or-later
//
// converge-run's two halves. run_in_allocation executes a workflow's steps
// with srun inside one allocation (the batch script of the allocation mode).
// drive submits a workflow (one allocation, or one job per step chained
// with afterok) and shows its progress until it ends.
#pragma once

#include "converge/workflow.h"

#include <string>

namespace converge::workflow {

struct Paths {
  std::string work_dir;
  std::string state() const { return work_dir + "/state.json"; }
  std::string logs() const { return work_dir + "/logs"; }
  std::string log_of(const std::string& step) const { return logs() + "/" + step + ".log"; }
};

// Returns 0 when every step is done or skipped.
int run_in_allocation(const Workflow& workflow, const std::string& workflow_file);
int drive(const Workflow& workflow, const std::string& workflow_file, bool quiet);

}  // namespace converge::workflow
