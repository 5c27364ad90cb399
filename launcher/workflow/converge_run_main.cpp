// SPDX-License-Identifier: GPL-2.0-or-later
//
// converge-run: runs a workflow (simulation -> analysis -> inference) on the
// cluster and shows its progress.
#include "runner.h"

#include "converge/cli.h"
#include "converge/log.h"

namespace {

constexpr const char* kDescription =
    R"(Runs a workflow's steps in dependency order and shows their progress: in
one allocation that shares the services (Kapok, ...) among all steps (mode
"allocation", the default), or as one job per step chained with afterok
dependencies (mode "jobs"). A failing step stops its dependents and the error
names it; a rerun skips steps whose outputs are complete. State and logs go
to the workflow's work_dir (WORKFLOW.run beside the file by default). See
docs/launcher.md for the format.)";

}  // namespace

int main(int argc, char** argv) {
  converge::log::set_program_name("converge-run");
  std::string file, mode;
  bool inside = false, quiet = false;
  CLI::App app{kDescription, "converge-run"};
  app.add_option("workflow", file, "the workflow (JSON)")->required();
  app.add_option("--mode", mode, "run it in one allocation or as one job per step")
      ->check(CLI::IsMember({"allocation", "jobs"}));
  app.add_flag("--quiet", quiet, "print only the result");
  // The allocation's batch script runs the steps itself.
  app.add_flag("--inside", inside)->group("");
  return converge::cli::run("converge-run", [&] {
    converge::cli::parse(app, argc, argv);
    auto workflow = converge::Workflow::load_file(file);
    if (mode == "jobs") workflow.mode = converge::WorkflowMode::jobs;
    if (mode == "allocation") workflow.mode = converge::WorkflowMode::allocation;
    if (inside) return converge::workflow::run_in_allocation(workflow, file);
    return converge::workflow::drive(workflow, file, quiet);
  });
}
