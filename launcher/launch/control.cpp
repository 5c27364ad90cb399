// SPDX-License-Identifier: GPL-2.0-or-later
//
// `up`, `down` and `status`, run in the job's batch script or salloc shell.
// Services live in a step of their own (the service step) so that they
// outlast `up`: a finished step's processes are killed by Slurm, and that
// step ends only when `down`, scancel or the job's end stops it.
#include "commands.h"
#include "job_files.h"
#include "node_services.h"

#include "converge/config.h"
#include "converge/launch_settings.h"
#include "converge/mounts.h"
#include "converge/poll.h"
#include "converge/process.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>

namespace converge::launch {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string require_env(const char* name, const char* why) {
  const char* v = std::getenv(name);
  if (!v || !*v) throw std::runtime_error(fmt::format("{} is not set: {}", name, why));
  return v;
}

std::string config_path(const Options& o) {
  if (!o.config.empty()) return fs::absolute(o.config).string();
  const char* env = std::getenv("CONVERGE_CONFIG");
  return env && fs::exists(env) ? env : "";
}

void print_summary(const nlohmann::json& state) {
  std::cout << fmt::format("converge-launch: {} ready on {} nodes in {} ms\n",
                           fmt::join(state["services"].get<std::vector<std::string>>(), ","),
                           state["nodes"].get<int>(), state["bring_up_ms"].get<long>());
  std::cout << fmt::format("  {:<8} {:<10} {:<6} {:<22} {:>7} {:<8} {:>9}\n", "service", "role",
                           "node", "endpoint", "pid", "cpus", "ready ms");
  for (const auto& r : state["roles"]) {
    std::cout << fmt::format("  {:<8} {:<10} {:<6} {:<22} {:>7} {:<8} {:>9}\n",
                             r["service"].get<std::string>(), r["role"].get<std::string>(),
                             r["node"].get<std::string>(), r["endpoint"].get<std::string>(),
                             r["pid"].get<int>(),
                             fmt::format("{}", fmt::join(r["cpus"].get<std::vector<int>>(), ",")),
                             r["ready_ms"].get<long>());
  }
}

// The job this command runs in, and its services' files and state.
struct JobView {
  std::string job;
  JobFiles files;
  std::optional<nlohmann::json> state;
};

// The job directory is made by root (the SPANK plugin, in every step's
// slurmstepd), owned by the job's user. An salloc shell may not have had a
// step yet: a one-task step of the job has it made.
void ensure_job_directory(const std::string& dir) {
  if (fs::is_directory(dir)) return;
  process::run({"srun", "--overlap", "-N1", "-n1", "--job-name=converge-prepare", "true"});
  if (!fs::is_directory(dir)) {
    throw std::runtime_error(fmt::format(
        "the job directory {} does not exist: Converge's SPANK plugin makes it when a step of "
        "the job starts (is it in plugstack.conf? see the slurmd log for its reason)",
        dir));
  }
}

// What `up` says last on failure, also in the job's Comment when asked: a
// user sees it in `scontrol show job` and `sacct` without opening a log.
void record_failure(const Options& options, const std::string& job, const std::string& reason) {
  if (!options.comment_on_failure) return;
  std::string comment = "converge: services failed: " + reason;
  if (comment.size() > 250) comment = comment.substr(0, 247) + "...";
  process::run({"scontrol", "update", "JobId=" + job, "Comment=" + comment});
}

JobView open_job(const Options& options, const char* command) {
  JobView v;
  v.job = require_env("SLURM_JOB_ID",
                      fmt::format("converge-launch {} runs inside the job", command).c_str());
  v.files = JobFiles{LaunchSettings::load(config_path(options)).job_dir_of(v.job)};
  v.state = read_json(v.files.state());
  return v;
}

// One try at starting the service step: srun of `converge-launch serve`,
// watched until rank 0 reports (ready or failed), the step ends, or `limit`.
// On anything but ready the step is gone when this returns.
struct StepAttempt {
  bool settled = false;  // false: nothing reported within the limit
  std::optional<nlohmann::json> state;

  // Worth one more try: the PMIx exchange stalled, or the step ended
  // without any rank reporting (a rank stuck there was killed by srun).
  bool retryable() const {
    if (!settled) return false;
    if (!state || !state->contains("state")) return true;
    return (*state)["state"] == "failed" && state->value("stalled", false);
  }
  std::string stall_reason(const std::string& step_log) const {
    if (state && state->contains("errors") && !(*state)["errors"].empty())
      return (*state)["errors"][0].get<std::string>();
    // A rank that saw the stall said so before srun ended the step.
    std::string stalled = last_line_of(step_log, "PMIx fence");
    if (auto at = stalled.find("error: "); at != std::string::npos) stalled.erase(0, at + 7);
    return stalled.empty() ? "the service step ended early: " + last_line_of(step_log) : stalled;
  }
};

// False once the job is ending (cancelled, out of time): a step that ended
// then is no stall, and another would not start.
bool job_running(const std::string& job) {
  auto state = process::run({"squeue", "-h", "-j", job, "-o", "%T"});
  return state.exit_code == 0 && state.output.rfind("RUNNING", 0) == 0;
}

StepAttempt start_service_step(const std::vector<std::string>& argv, const JobFiles& files,
                               const std::string& step_log, std::chrono::milliseconds limit) {
  fs::remove(files.state());
  auto step = process::spawn_detached({argv, {}, step_log, ""});
  StepAttempt out;
  out.settled = poll_until(limit, 20ms, [&] {
    out.state = read_json(files.state());
    if (out.state && ((*out.state)["state"] == "ready" || (*out.state)["state"] == "failed"))
      return true;
    return !process::alive(step);
  });
  // Rank 0 may have written the state just before the step ended.
  if (out.settled && !(out.state && out.state->contains("state")))
    out.state = read_json(files.state());
  if (out.settled && out.state && (*out.state)["state"] == "ready") return out;
  // The ranks stop their services on failure; wait for srun to go, and end
  // it if it does not (a rank stuck in a stalled exchange).
  if (!poll_until(10000ms, 20ms, [&] { return !process::alive(step); }))
    process::terminate(step, 5000ms);
  waitpid(step.pid, nullptr, WNOHANG);
  return out;
}

}  // namespace

int up(const Options& options) {
  // Under srun the services would die with that step when `up` returns.
  const char* step_id = std::getenv("SLURM_STEP_ID");
  bool in_step = std::getenv("PMIX_RANK") ||
                 (step_id && std::strtoull(step_id, nullptr, 10) < 0xfffffff0ull);  // not batch
  if (in_step) {
    throw std::runtime_error(
        "converge-launch up starts its own service step: run it in the batch script or an "
        "salloc shell, not under srun");
  }
  if (options.services.empty())
    throw std::runtime_error("no services named (--services kapok,...)");
  std::string config = config_path(options);
  LaunchSettings settings = LaunchSettings::load(config);  // a bad file stops here, with its line
  for (const auto& name : options.services)
    ServiceDescriptor::find(services_dir(settings), name);  // unknown or bad: stop before any step
  std::string job = require_env("SLURM_JOB_ID",
                                "converge-launch up runs inside a Slurm "
                                "allocation (sbatch or salloc)");
  std::string nodes = require_env("SLURM_JOB_NUM_NODES", "not inside a Slurm allocation");
  JobFiles files{settings.job_dir_of(job)};
  ensure_job_directory(files.dir);
  if (auto state = read_json(files.state()); state && (*state)["state"] == "ready") {
    throw std::runtime_error(
        fmt::format("services already running in job {} (converge-launch down first)", job));
  }
  fs::create_directories(files.logs());
  fs::remove(files.state());
  fs::remove_all(files.dir + "/stopped");
  fs::remove(files.endpoints());
  // The services run with the configuration as it is now.
  if (!config.empty())
    fs::copy_file(config, files.config(), fs::copy_options::overwrite_existing);
  else
    write_json(files.config(), nlohmann::json::object());

  auto srun = process::find_program("srun");
  if (!srun) throw std::runtime_error("srun not found on PATH");
  std::vector<std::string> argv{*srun,
                                "--mpi=pmix",
                                "--overlap",
                                "--ntasks-per-node=1",
                                "-N",
                                nodes,
                                "-n",
                                nodes,
                                "--kill-on-bad-exit=1",
                                "--job-name=converge-services",
                                process::executable_dir() + "/converge-launch",
                                "serve",
                                "--services",
                                fmt::format("{}", fmt::join(options.services, ",")),
                                "--config",
                                files.config()};
  std::string step_log = files.logs() + "/service-step.log";
  // Each phase may take the readiness timeout; the step's start adds a little.
  auto limit = settings.ready_timeout * 4 + 30s;
  auto attempt = start_service_step(argv, files, step_log, limit);
  if (attempt.retryable() && job_running(job)) {
    // A stalled PMIx exchange is the step's fault, not the services': the
    // ranks stopped what they started, so one more step starts clean.
    std::cerr << fmt::format("converge-launch: bring-up attempt failed ({}); trying once more\n",
                             attempt.stall_reason(step_log));
    attempt = start_service_step(argv, files, step_log, limit);
  }
  auto& [settled, state] = attempt;
  if (settled && state && (*state)["state"] == "ready") {
    if (!options.quiet) print_summary(*state);
    std::cout << fmt::format("endpoints: {}\n", files.endpoints());
    return 0;
  }
  std::string reason;
  if (state && (*state)["state"] == "failed") {
    for (const auto& e : (*state)["errors"]) {
      std::cerr << "converge-launch: " << e.get<std::string>() << "\n";
      if (reason.empty()) reason = e.get<std::string>();
    }
    std::cerr << "converge-launch: bring-up failed; everything started was stopped (logs in "
              << files.logs() << ")\n";
  } else if (!settled) {
    reason = fmt::format("services not ready after {} s",
                         std::chrono::duration_cast<std::chrono::seconds>(limit).count());
    std::cerr << fmt::format("converge-launch: {} (see {})\n", reason, step_log);
  } else {
    reason = fmt::format("the service step ended early: {}", last_line_of(step_log));
    std::cerr << fmt::format("converge-launch: {} (see {})\n", reason, step_log);
  }
  record_failure(options, job, reason);
  return 1;
}

int down(const Options& options) {
  // Named, not a structured binding: the poll below captures `files`.
  JobView view = open_job(options, "down");
  const std::string& job = view.job;
  const JobFiles& files = view.files;
  std::optional<nlohmann::json>& state = view.state;
  if (!state || (*state)["state"] != "ready") {
    std::cout << fmt::format("converge-launch: no services running in job {}\n", job);
    return 0;
  }
  std::string step = fmt::format("{}.{}", job, (*state)["step"].get<std::string>());
  auto scancel = process::run({"scancel", "--signal=TERM", step});
  if (scancel.exit_code != 0) throw std::runtime_error("scancel " + step + ": " + scancel.output);
  int nodes = (*state)["nodes"].get<int>();
  auto all_stopped = [&] {
    if (!fs::exists(files.dir + "/stopped")) return false;
    int n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(files.dir + "/stopped")) ++n;
    return n >= nodes;
  };
  if (!poll_until(30000ms, 20ms, all_stopped)) {
    process::run({"scancel", step});  // SIGKILL: the epilog detaches what is left
    throw std::runtime_error(
        fmt::format("services of job {} did not stop within 30 s; step {} killed", job, step));
  }
  (*state)["state"] = "stopped";
  write_json(files.state(), *state);
  std::cout << fmt::format("converge-launch: stopped {} on {} nodes\n",
                           fmt::join((*state)["services"].get<std::vector<std::string>>(), ","),
                           nodes);
  return 0;
}

int status(const Options& options) {
  auto [job, files, state] = open_job(options, "status");
  if (!state) {
    std::cout << fmt::format("no services in job {}\n", job);
    return 1;
  }
  if ((*state)["state"] == "ready") {
    print_summary(*state);
    return 0;
  }
  std::cout << (*state).dump(2) << "\n";
  return (*state)["state"] == "stopped" ? 0 : 1;
}

}  // namespace converge::launch
