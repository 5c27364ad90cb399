// SPDX-License-Identifier: GPL-2.0-or-later
//
// The user's side of converge-run: submits the workflow and follows it,
// printing each step's changes (state, where it runs, how long it took) and a
// summary at the end. In allocation mode one job runs every step (its batch
// script is `converge-run --inside`); in jobs mode each step is a job of its
// own, chained with afterok, so a failed step's dependents never start.
#include "runner.h"
#include "run_state.h"
#include "step_log.h"

#include "converge/launch_settings.h"
#include "converge/poll.h"
#include "converge/process.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

namespace converge::workflow {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string run_checked(const std::vector<std::string>& argv) {
  auto r = process::run(argv);
  if (r.exit_code != 0) throw std::runtime_error(fmt::format("{} failed: {}", argv[0], r.output));
  return r.output;
}

std::string first_line(const std::string& text) {
  return text.substr(0, text.find_first_of(";\n"));
}

// JobState of a job, or "" once Slurm has forgotten it.
std::string job_state(const std::string& id, int* exit_code = nullptr) {
  auto r = process::run({"scontrol", "-o", "show", "job", id});
  auto at = r.output.find("JobState=");
  if (r.exit_code != 0 || at == std::string::npos) return "";
  std::string state = r.output.substr(at + 9, r.output.find(' ', at) - at - 9);
  auto code = r.output.find(" ExitCode=");
  if (exit_code && code != std::string::npos) *exit_code = std::atoi(r.output.c_str() + code + 10);
  return state;
}

// The text of a single-quoted shell word: each ' becomes '\''.
std::string shell_quote_body(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out;
}

bool finished(const std::string& slurm_state) {
  return slurm_state.empty() ||
         (slurm_state != "PENDING" && slurm_state != "RUNNING" && slurm_state != "CONFIGURING" &&
          slurm_state != "COMPLETING" && slurm_state != "SUSPENDED");
}

double seconds(const nlohmann::json& step, std::int64_t now) {
  if (!step.contains("started")) return 0;
  std::int64_t end = step.contains("ended") ? step["ended"].get<std::int64_t>() : now;
  return (end - step["started"].get<std::int64_t>()) / 1000.0;
}

class Progress {
 public:
  Progress(bool quiet, std::int64_t start) : quiet_(quiet), start_(start) {}

  // Prints what changed since the last call.
  void show(const RunState& state) {
    auto now = RunState::now_ms();
    for (const auto& name : state.json()["order"]) {
      const auto& s = state.json()["steps"][name.get<std::string>()];
      std::string line = s["state"].get<std::string>();
      if (s.contains("nodes") && !s["nodes"].empty())
        line += fmt::format(" on {}", fmt::join(s["nodes"].get<std::vector<std::string>>(), ","));
      if (line == last_[name]) continue;
      last_[name] = line;
      if (quiet_) continue;
      std::string detail;
      if (s["state"] != "running" && s.contains("started"))
        detail = fmt::format(" after {:.1f} s", seconds(s, now));
      if (s.contains("reason")) detail += ": " + s["reason"].get<std::string>();
      std::cout << fmt::format("[{:7.1f}s] {:<12} {}{}\n", (now - start_) / 1000.0,
                               name.get<std::string>(), line, detail)
                << std::flush;
    }
  }

  static void summary(const RunState& state) {
    auto now = RunState::now_ms();
    std::cout << fmt::format("\n{:<12} {:<10} {:>9}  {}\n", "step", "state", "seconds", "nodes");
    for (const auto& name : state.json()["order"]) {
      const auto& s = state.json()["steps"][name.get<std::string>()];
      std::string nodes;
      if (s.contains("nodes"))
        nodes = fmt::format("{}", fmt::join(s["nodes"].get<std::vector<std::string>>(), ","));
      std::cout << fmt::format("{:<12} {:<10} {:>9.1f}  {}\n", name.get<std::string>(),
                               s["state"].get<std::string>(), seconds(s, now), nodes);
    }
  }

 private:
  bool quiet_;
  std::int64_t start_;
  std::map<std::string, std::string> last_;
};

int report(const RunState& state, const Paths& paths) {
  Progress::summary(state);
  int bad = 0;
  for (const auto& name : state.json()["order"]) {
    const auto& s = state.json()["steps"][name.get<std::string>()];
    if (s["state"] == "failed") {
      std::cerr << fmt::format("converge-run: step {} failed: {} (log: {})\n",
                               name.get<std::string>(), s.value("reason", std::string("?")),
                               paths.log_of(name.get<std::string>()));
      ++bad;
    }
  }
  return bad == 0 && state.json().value("finished", false) ? 0 : 1;
}

int drive_allocation(const Workflow& w, const std::string& file, bool quiet) {
  Paths paths{w.work_dir};
  fs::create_directories(paths.logs());
  fs::remove(paths.state());
  std::string script = w.work_dir + "/allocation.sh";
  {
    std::ofstream out(script);
    out << "#!/bin/sh\n# Written by converge-run: the workflow's allocation runs every step.\n"
        << "exec " << process::executable_dir() << "/converge-run --inside "
        << fs::absolute(file).string() << "\n";
  }
  fs::permissions(script, fs::perms::owner_all, fs::perm_options::add);
  std::vector<std::string> argv{"sbatch",
                                "--parsable",
                                "-N",
                                std::to_string(w.nodes),
                                "-J",
                                w.name,
                                fmt::format("--time={}", w.time_limit_minutes),
                                "--converge-type=" + std::string(to_string(w.steps.front().type)),
                                "-o",
                                paths.logs() + "/allocation.log"};
  if (!w.services.empty())
    argv.push_back(fmt::format("--converge-services={}", fmt::join(w.services, ",")));
  argv.push_back(script);
  std::string job = first_line(run_checked(argv));
  auto start = RunState::now_ms();
  if (!quiet)
    std::cout << fmt::format(
        "workflow {}: job {} on {} nodes{}\n", w.name, job, w.nodes,
        w.services.empty() ? "" : fmt::format(" with {}", fmt::join(w.services, ",")));
  Progress progress(quiet, start);
  RunState state;
  bool have_state = false;
  while (true) {
    std::string slurm = job_state(job);
    have_state = RunState::load(paths.state(), state) && state.json().value("job", "") == job;
    if (have_state) progress.show(state);
    if (finished(slurm)) break;
    std::this_thread::sleep_for(200ms);
  }
  if (!have_state) {
    const char* config = std::getenv("CONVERGE_CONFIG");
    LaunchSettings settings = LaunchSettings::load(config ? config : "");
    std::cerr << fmt::format(
        "converge-run: job {} ended before its first step (services: see {}/logs/launch.log; "
        "allocation: {}/allocation.log)\n",
        job, settings.job_dir_of(job), paths.logs());
    return 1;
  }
  return report(state, paths);
}

int drive_jobs(const Workflow& w, bool quiet) {
  Paths paths{w.work_dir};
  fs::create_directories(paths.logs());
  std::vector<std::string> order;
  for (const auto& s : w.steps) order.push_back(s.name);
  RunState state = RunState::start(w.name, order);
  std::map<std::string, std::string> jobs;
  setenv("CONVERGE_WORK_DIR", w.work_dir.c_str(),
         1);  // for inputs and outputs, as the steps see it
  auto expand = [](const std::string& text) {
    return expand_variables(text, [](const std::string& n) -> std::optional<std::string> {
      const char* v = std::getenv(n.c_str());
      return v ? std::optional<std::string>(v) : std::nullopt;
    });
  };
  for (const auto& step : w.steps) {
    if (outputs_complete(step, expand)) {
      state.set(step.name, "skipped", "outputs complete");
      continue;
    }
    std::vector<std::string> deps;
    for (const auto& d : step.after) {
      if (jobs.contains(d)) deps.push_back(jobs[d]);
    }
    std::string command = kTaskBanner + step.command;
    std::string srun = fmt::format("srun -N {} -n {}{} /bin/sh -c '{}'", step.nodes, step.tasks,
                                   step.mpi ? " --mpi=pmix" : "", shell_quote_body(command));
    std::vector<std::string> argv{
        "sbatch",
        "--parsable",
        "-N",
        std::to_string(step.nodes),
        "-n",
        std::to_string(step.tasks),
        "-J",
        step.name,
        "--converge-type=" + std::string(to_string(step.type)),
        fmt::format("--time={}",
                    step.time_limit_minutes ? step.time_limit_minutes : w.time_limit_minutes),
        "-o",
        paths.log_of(step.name),
        "--kill-on-invalid-dep=yes"};
    if (!w.services.empty())
      argv.push_back(fmt::format("--converge-services={}", fmt::join(w.services, ",")));
    if (!deps.empty()) argv.push_back(fmt::format("--dependency=afterok:{}", fmt::join(deps, ":")));
    const char* path = std::getenv("PATH");
    std::string exports = "--export=ALL,PATH=" + process::executable_dir() + ":" +
                          (path ? path : "/usr/bin:/bin") + ",CONVERGE_WORK_DIR=" + w.work_dir;
    for (const auto& [k, v] : w.env) exports += "," + k + "=" + v;
    argv.push_back(exports);
    argv.insert(argv.end(), {"--wrap", srun});
    jobs[step.name] = first_line(run_checked(argv));
    state.set_field(step.name, "job", jobs[step.name]);
  }
  if (!quiet) {
    std::cout << fmt::format("workflow {}: {} jobs chained with afterok\n", w.name, jobs.size());
  }
  Progress progress(quiet, RunState::now_ms());
  while (true) {
    bool all_done = true;
    for (const auto& step : w.steps) {
      if (!jobs.contains(step.name)) continue;
      std::string current = state.state_of(step.name);
      if (current != "waiting" && current != "running") continue;
      int exit_code = 0;
      std::string slurm = job_state(jobs[step.name], &exit_code);
      if (slurm == "RUNNING" && current == "waiting") state.set(step.name, "running");
      if (!finished(slurm)) {
        all_done = false;
        continue;
      }
      if (current == "waiting") state.set(step.name, "running");
      state.set_field(step.name, "nodes", nodes_in_log(paths.log_of(step.name)));
      if (slurm == "COMPLETED") {
        state.set(step.name, "done");
      } else if (slurm == "CANCELLED" &&
                 state.json()["steps"][step.name].value("exit_code", 0) == 0 && exit_code == 0) {
        state.set(step.name, "cancelled", "a dependency did not succeed");
      } else {
        std::string reason =
            fmt::format("job {} {}, exit code {}", jobs[step.name], slurm, exit_code);
        if (auto last = last_words(paths.log_of(step.name)); !last.empty()) reason += ": " + last;
        state.set(step.name, "failed", reason);
      }
    }
    progress.show(state);
    if (all_done) break;
    std::this_thread::sleep_for(200ms);
  }
  state.json()["finished"] = true;
  state.save(paths.state());
  return report(state, paths);
}

}  // namespace

int drive(const Workflow& workflow, const std::string& workflow_file, bool quiet) {
  return workflow.mode == WorkflowMode::allocation
             ? drive_allocation(workflow, workflow_file, quiet)
             : drive_jobs(workflow, quiet);
}

}  // namespace converge::workflow
