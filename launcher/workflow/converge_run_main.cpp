// SPDX-License-Identifier: GPL-2.0-or-later
//
// converge-run: runs a workflow (simulation -> analysis -> inference) on the
// cluster and shows its progress.
#include "runner.h"

#include "converge/config.h"
#include "converge/log.h"

#include <fmt/format.h>

#include <iostream>
#include <string_view>

namespace {

constexpr const char* kUsage =
    R"(usage: converge-run WORKFLOW.json [--mode allocation|jobs] [--quiet]

Runs the workflow's steps in dependency order and shows their progress: in
one allocation that shares the services (Kapok, ...) among all steps
(mode "allocation", the default), or as one job per step chained with
afterok dependencies (mode "jobs"). A failing step stops its dependents and
the error names it; a rerun skips steps whose outputs are complete. State and
logs go to the workflow's work_dir (WORKFLOW.run beside the file by default).
See docs/launcher.md for the format.
)";

}  // namespace

int main(int argc, char** argv) {
  namespace log = converge::log;
  std::string file, mode;
  bool inside = false, quiet = false;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string_view arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        std::cout << kUsage;
        return 0;
      } else if (arg == "--inside") {
        inside = true;  // the allocation's batch script
      } else if (arg == "--quiet") {
        quiet = true;
      } else if (arg == "--mode" && i + 1 < argc) {
        mode = argv[++i];
        if (mode != "allocation" && mode != "jobs")
          throw std::invalid_argument("--mode is allocation or jobs");
      } else if (file.empty() && !arg.starts_with("-")) {
        file = arg;
      } else {
        throw std::invalid_argument(fmt::format("unknown argument {} (see --help)", arg));
      }
    }
    if (file.empty()) throw std::invalid_argument("no workflow file (see --help)");
    auto workflow = converge::Workflow::load_file(file);
    if (mode == "jobs") workflow.mode = converge::WorkflowMode::jobs;
    if (mode == "allocation") workflow.mode = converge::WorkflowMode::allocation;
    if (inside) return converge::workflow::run_in_allocation(workflow, file);
    return converge::workflow::drive(workflow, file, quiet);
  } catch (const std::exception& e) {
    log::error("{}", e.what());
  }
  return 1;
}
