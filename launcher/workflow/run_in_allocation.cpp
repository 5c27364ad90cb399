// SPDX-License-Identifier: GPL-2.0-or-later
//
// Inside the allocation: the steps in dependency order, each an srun over
// its share of the nodes, sharing the services the allocation brought up.
// A step whose outputs are complete is skipped; a failed step cancels its
// dependents while independent steps still run.
#include "runner.h"
#include "run_state.h"
#include "step_log.h"

#include "converge/log.h"
#include "converge/process.h"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace converge::workflow {
namespace fs = std::filesystem;

namespace {

std::string expand_here(const std::string& text) {
  return expand_variables(text, [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  });
}

}  // namespace

int run_in_allocation(const Workflow& workflow, const std::string& /*workflow_file*/) {
  Paths paths{workflow.work_dir};
  fs::create_directories(paths.logs());
  std::vector<std::string> order;
  for (const auto& s : workflow.steps) order.push_back(s.name);
  RunState state = RunState::start(workflow.name, order);
  const char* job = std::getenv("SLURM_JOB_ID");
  state.json()["job"] = job ? job : "";
  state.save(paths.state());

  // Steps find Converge's programs (dns3d, ...) beside converge-run, and
  // the run's directory for results that must outlive the job's Kapok.
  const char* path = std::getenv("PATH");
  std::vector<std::string> env{
      "PATH=" + process::executable_dir() + ":" + (path ? path : "/usr/bin:/bin"),
      "CONVERGE_WORK_DIR=" + workflow.work_dir};
  for (const auto& [k, v] : workflow.env) env.push_back(k + "=" + v);
  // Inputs and outputs name the same variables the steps see.
  setenv("CONVERGE_WORK_DIR", workflow.work_dir.c_str(), 1);
  for (const auto& [k, v] : workflow.env) setenv(k.c_str(), v.c_str(), 1);
  int failures = 0;
  for (const auto& step : workflow.steps) {
    std::string blocked;
    for (const auto& dep : step.after) {
      auto s = state.state_of(dep);
      if (s != "done" && s != "skipped") blocked = dep;
    }
    if (!blocked.empty()) {
      state.set(step.name, "cancelled", fmt::format("dependency {} did not succeed", blocked));
      state.save(paths.state());
      continue;
    }
    if (outputs_complete(step, expand_here)) {
      state.set(step.name, "skipped", "outputs complete");
      state.save(paths.state());
      continue;
    }
    state.set(step.name, "running");
    state.save(paths.state());
    std::string log = paths.log_of(step.name);
    fs::remove(log);
    // Each task names its node first, so the summary can say where it ran.
    std::string script = kTaskBanner + step.command;
    std::vector<std::string> argv{"srun",
                                  "-N",
                                  std::to_string(step.nodes),
                                  "-n",
                                  std::to_string(step.tasks),
                                  "--kill-on-bad-exit=1",
                                  "--job-name=" + step.name,
                                  "--output=" + log,
                                  "--error=" + log};
    if (step.mpi) argv.push_back("--mpi=pmix");
    if (step.time_limit_minutes) argv.push_back(fmt::format("--time={}", step.time_limit_minutes));
    argv.insert(argv.end(), {"/bin/sh", "-c", script});
    auto srun = process::find_program("srun");
    if (!srun) throw std::runtime_error("srun not found on PATH");
    argv[0] = *srun;
    auto result = process::run(argv, env);
    state.set_field(step.name, "nodes", nodes_in_log(log));
    state.set_field(step.name, "exit_code", result.exit_code);
    if (result.exit_code != 0) {
      ++failures;
      std::string reason = fmt::format("exit code {}", result.exit_code);
      if (auto last = last_words(log); !last.empty()) reason += ": " + last;
      state.set(step.name, "failed", reason);
    } else {
      std::vector<std::string> missing;
      for (const auto& o : step.outputs) {
        if (!fs::exists(expand_here(o))) missing.push_back(o);
      }
      if (!missing.empty()) {
        ++failures;
        state.set(step.name, "failed",
                  fmt::format("finished but did not write {}", missing.front()));
      } else {
        state.set(step.name, "done");
      }
    }
    state.save(paths.state());
  }
  state.json()["finished"] = true;
  state.json()["ended"] = RunState::now_ms();
  state.save(paths.state());
  return failures == 0 ? 0 : 1;
}

}  // namespace converge::workflow
