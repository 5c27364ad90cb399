// SPDX-License-Identifier: GPL-2.0-or-later
//
// spank/converge: the user's side of Converge in sbatch, srun and salloc.
//
//   --converge-type=sim|bigdata|ai     the job's class, which decides how
//                                      sched/converge schedules it
//   --converge-services=LIST           services for converge-launch to bring
//                                      up in the allocation (kapok,topo,tdpipe)
//   --converge-priority=realtime|batch big-data priority class
//   --converge-data=PATH               the job's input on Kapok
//   --converge-comm=heavy|normal       heavy: whole leaf switches to itself
//
// A bad value makes the command refuse before any job exists. Good values
// travel in the job's SPANK environment, where slurmctld's Converge plugins
// read them, and reach the job's processes as CONVERGE_TYPE and
// CONVERGE_SERVICES. Every step also learns where the job's services keep
// their files (CONVERGE_JOB_DIR, CONVERGE_ENDPOINTS, CONVERGE_KAPOK_MOUNT for
// its node, CONVERGE_CONFIG).
//
// A batch job with --converge-services gets its services before the script
// starts: the batch step runs `converge-launch up` (which starts the service
// step). If that fails, or the job is cancelled or times out meanwhile, the
// job fails, never the node: user_init always succeeds (its failure would
// make slurmd report "could not execve job" and slurmctld drain the node),
// and the batch task then ends with exit code 1 before the script runs,
// printing the launcher's reason into the job's output. The job's end stops
// the service step; when that step ends on a node, its slurmstepd (as root)
// stops any service process of the job left there and detaches its mounts,
// so nothing outlives a job. The plugin defines no job prolog or epilog:
// those would cost every job on every node a process start.
//
// The job directory (launcher.job_dir) is made by root in every step's
// slurmstepd before any of the job's processes run, owned by the job's user
// with mode 0700 (converge/job_directory.h), and removed at the end of the
// batch step if nothing was put in it.
//
// plugstack.conf arguments: config=PATH (converge.json) launcher=PATH
// (converge-launch). Only Slurm's public SPANK API is used here.
#include "converge/binding_hint.h"
#include "converge/job_directory.h"
#include "converge/job_request.h"
#include "converge/launch_settings.h"
#include "converge/service_descriptor.h"
#include "converge/service_cleanup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>
#include <vector>

// spank.h declares the callbacks outside any extern "C" block.
extern "C" {
#include <slurm/slurm.h>
#include <slurm/spank.h>
}

#include <exception>
#include <string>

#define CONVERGE_EXPORT extern "C" __attribute__((visibility("default")))

CONVERGE_EXPORT const char plugin_name[] = "converge";
CONVERGE_EXPORT const char plugin_type[] = "spank";
CONVERGE_EXPORT const unsigned int plugin_version = SLURM_VERSION_NUMBER;
CONVERGE_EXPORT const unsigned int spank_plugin_version = 1;

namespace {

enum OptionId {
  kTypeOption = 1,
  kServicesOption = 2,
  kPriorityOption = 3,
  kDataOption = 4,
  kCommOption = 5
};

std::vector<std::string> installed_services();

// In slurmstepd: the step belongs to a converged job (--converge-type),
// known from the option's callback (init_post_opt cannot ask for options).
bool g_converged_step = false;

// Validates one option value; the message is what the user sees.
int check_option(int id, const char* value, int remote) {
  try {
    if (!value) throw converge::JobRequestError("missing value");
    if (id == kTypeOption) {
      converge::parse_job_type(value);
      if (remote) g_converged_step = true;
    }
    if (id == kServicesOption) converge::parse_services(value, installed_services());
    if (id == kPriorityOption) converge::parse_priority_class(value);
    if (id == kDataOption) converge::parse_data_path(value);
    if (id == kCommOption) converge::parse_comm_pattern(value);
    return 0;
  } catch (const std::exception& e) {
    slurm_error("%s", e.what());
    return -1;
  }
}

char kTypeName[] = "converge-type";
char kTypeArg[] = "TYPE";
char kTypeUsage[] =
    "Converge job class: sim (pushed by the controller), bigdata (pulled by idle nodes) or ai";
char kServicesName[] = "converge-services";
char kServicesArg[] = "LIST";
char kServicesUsage[] =
    "Converge services to run inside the allocation, comma-separated: kapok, topo, tdpipe";

char kPriorityName[] = "converge-priority";
char kPriorityArg[] = "CLASS";
char kPriorityUsage[] =
    "Big-data priority class: realtime (ahead of batch work) or batch (default)";
char kDataName[] = "converge-data";
char kDataArg[] = "PATH";
char kDataUsage[] = "The job's input on Kapok; nodes that hold it are preferred";
char kCommName[] = "converge-comm";
char kCommArg[] = "PATTERN";
char kCommUsage[] =
    "heavy: the job talks a lot between its nodes and gets whole leaf switches to itself";

struct spank_option g_options[] = {
    {kTypeName, kTypeArg, kTypeUsage, 1, kTypeOption, check_option},
    {kServicesName, kServicesArg, kServicesUsage, 1, kServicesOption, check_option},
    {kPriorityName, kPriorityArg, kPriorityUsage, 1, kPriorityOption, check_option},
    {kDataName, kDataArg, kDataUsage, 1, kDataOption, check_option},
    {kCommName, kCommArg, kCommUsage, 1, kCommOption, check_option},
};

// Exports an option's value to the job's tasks as an environment variable.
void export_option(spank_t sp, spank_option& option, const char* variable) {
  char* value = nullptr;
  if (spank_option_getopt(sp, &option, &value) != ESPANK_SUCCESS || !value) return;
  if (spank_setenv(sp, variable, value, 1) != ESPANK_SUCCESS) {
    slurm_error("spank/converge: cannot set %s in the job environment", variable);
  }
}

std::string g_config;    // config=PATH
std::string g_launcher;  // launcher=PATH

void parse_arguments(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("config=", 0) == 0) g_config = arg.substr(7);
    if (arg.rfind("launcher=", 0) == 0) g_launcher = arg.substr(9);
  }
}

// Read once per process: a slurmstepd asks in init_post_opt, user_init and
// exit, and the file does not change under a running step.
const converge::LaunchSettings& launch_settings() {
  static const converge::LaunchSettings settings = [] {
    try {
      if (!g_config.empty() && std::filesystem::exists(g_config))
        return converge::LaunchSettings::load(g_config);
    } catch (const std::exception& e) {
      slurm_error("spank/converge: %s (using the default launcher settings)", e.what());
    }
    return converge::LaunchSettings{};
  }();
  return settings;
}

// The services users may name: the descriptors the launcher will find
// (launcher.services_dir, else share/converge/services beside it); the
// built-in ones if that cannot be read here.
std::vector<std::string> installed_services() {
  std::string dir = launch_settings().services_dir;
  if (dir.empty() && !g_launcher.empty())
    dir = std::filesystem::path(g_launcher).parent_path().string() + "/../share/converge/services";
  auto names = converge::ServiceDescriptor::available(dir);
  return names.empty() ? converge::builtin_services() : names;
}

std::string node_name() {
  const char* name = std::getenv("SLURMD_NODENAME");
  return name ? name : "";
}

void set_env(spank_t sp, const char* name, const std::string& value) {
  if (spank_setenv(sp, name, value.c_str(), 1) != ESPANK_SUCCESS)
    slurm_error("spank/converge: cannot set %s in the job environment", name);
}

// Why this batch step's services did not come up; non-empty only in the
// batch step's slurmstepd, and inherited by the task it forks.
std::string g_bringup_failure;

// The launcher's last lines in its log: its one-line reasons.
std::string last_lines(const std::string& path, std::size_t count) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  std::string out;
  for (std::size_t i = lines.size() > count ? lines.size() - count : 0; i < lines.size(); ++i)
    out += lines[i] + "\n";
  return out;
}

// Waits for `pid`, at most `limit`; then it and its process group are killed.
int wait_bounded(pid_t pid, std::chrono::milliseconds limit) {
  using namespace std::chrono_literals;
  auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return -1;
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(50ms);
  }
  kill(-pid, SIGTERM);
  kill(pid, SIGTERM);
  for (int i = 0; i < 100; ++i) {  // 5 s to wind down, then SIGKILL
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(50ms);
  }
  kill(-pid, SIGKILL);
  kill(pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return -1;
}

// Runs `converge-launch up` for a batch job, as the job's user, with the
// job's environment; its output goes to the job directory's launch.log.
// Returns an empty string, or why the services are not there.
std::string launch_services(spank_t sp, std::uint32_t job_id, const std::string& services,
                            const std::string& job_dir, const converge::LaunchSettings& settings) {
  char** job_env = nullptr;
  std::uint32_t nodes = 0;
  if (spank_get_item(sp, S_JOB_ENV, &job_env) != ESPANK_SUCCESS ||
      spank_get_item(sp, S_JOB_NNODES, &nodes) != ESPANK_SUCCESS) {
    return "cannot read the job's environment";
  }
  std::vector<std::string> env;
  for (char** e = job_env; e && *e; ++e) env.emplace_back(*e);
  env.push_back("SLURM_JOB_ID=" + std::to_string(job_id));
  env.push_back("SLURM_JOB_NUM_NODES=" + std::to_string(nodes));
  env.push_back("SLURMD_NODENAME=" + node_name());
  std::vector<char*> c_env;
  c_env.reserve(env.size() + 1);
  for (auto& e : env) c_env.push_back(e.data());
  c_env.push_back(nullptr);
  std::vector<std::string> args{g_launcher, "up", "--services", services, "--comment-on-failure"};
  if (!g_config.empty()) args.insert(args.end(), {"--config", g_config});
  std::vector<char*> c_args;
  c_args.reserve(args.size() + 1);
  for (auto& a : args) c_args.push_back(a.data());
  c_args.push_back(nullptr);
  // Made here, as the job's user (slurmstepd runs user_init with the user's
  // effective ids), so the child only has async-signal-safe calls to make.
  std::string logs = job_dir + "/logs", log = logs + "/launch.log";
  if (mkdir(logs.c_str(), 0700) != 0 && errno != EEXIST)
    return "cannot create " + logs + ": " + std::strerror(errno);
  uid_t uid = geteuid();
  gid_t gid = getegid();

  pid_t pid = fork();
  if (pid < 0) return std::string("fork: ") + std::strerror(errno);
  if (pid == 0) {
    setpgid(0, 0);  // so a bounded wait can stop it and whatever it started
    // Become the job's user for good (slurmstepd only dropped privileges for now).
    if (setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0) _exit(126);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
    }
    execve(c_args[0], c_args.data(), c_env.data());
    _exit(127);
  }
  // `up` gives up by itself after 4 readiness timeouts and 30 s; this is
  // only the backstop for a launcher that hangs.
  int status = wait_bounded(pid, settings.ready_timeout * 4 + std::chrono::seconds(60));
  if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  std::string why = last_lines(log, 4);
  if (why.empty())
    why = status == -1 ? "converge-launch up did not finish in time\n"
                       : "converge-launch up failed without a word\n";
  slurm_info("spank/converge: job %u: services %s did not start; the job fails (see %s)", job_id,
             services.c_str(), log.c_str());
  return why;
}

}  // namespace

CONVERGE_EXPORT int slurm_spank_init(spank_t sp, int argc, char** argv) {
  parse_arguments(argc, argv);
  spank_context_t context = spank_context();
  if (context == S_CTX_LOCAL || context == S_CTX_ALLOCATOR || context == S_CTX_REMOTE) {
    for (auto& option : g_options) {
      if (spank_option_register(sp, &option) != ESPANK_SUCCESS) {
        slurm_error("spank/converge: cannot register --%s", option.name);
        return -1;
      }
    }
  }
  if (context == S_CTX_SLURMD) {
    slurm_info("spank/converge: active in slurmd (--converge-type, --converge-services)");
  }
  return 0;
}

// Makes the job directory as root for the job's user, before slurmstepd
// drops privileges (every step: the first one on a node makes it, the others
// find it). A refusal is logged for the admin; the batch task then fails
// with the reason when the job asked for services.
std::string g_job_dir_problem;

void make_job_directory(spank_t sp) {
  std::uint32_t job_id = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  if (spank_get_item(sp, S_JOB_ID, &job_id) != ESPANK_SUCCESS ||
      spank_get_item(sp, S_JOB_UID, &uid) != ESPANK_SUCCESS ||
      spank_get_item(sp, S_JOB_GID, &gid) != ESPANK_SUCCESS)
    return;
  try {
    converge::prepare_job_directory(launch_settings().job_dir_of(std::to_string(job_id)), uid, gid);
  } catch (const std::exception& e) {
    g_job_dir_problem = e.what();
    slurm_error("spank/converge: job %u: %s", job_id, e.what());
  }
}

// The binding hint for a converged job's step on this node: the cores Slurm
// gave the step here and their NUMA nodes (see converge/binding_hint.h).
// Worked out in init_post_opt, as root and before the step's PMIx server
// starts: reading the topology takes a while, and during user_init
// slurmstepd runs as the user, when Slurm 22.05 rejects the PMIx direct
// connections of the step's other nodes (their first fence then stalls;
// docs/plugins.md). user_init only exports it: the job's environment
// takes variables from user_init on.
std::optional<converge::BindingHint> g_binding_hint;

void find_binding_hint(spank_t sp) {
  char* cores = nullptr;
  if (spank_get_item(sp, S_STEP_ALLOC_CORES, &cores) != ESPANK_SUCCESS || !cores || !*cores) {
    if (spank_get_item(sp, S_JOB_ALLOC_CORES, &cores) != ESPANK_SUCCESS || !cores || !*cores)
      return;
  }
  auto list = converge::parse_cpu_list(cores);
  if (!list) return;
  g_binding_hint = converge::binding_hint(*list, converge::numa_of_cores());
}

void export_binding_hint(spank_t sp) {
  if (!g_binding_hint) return;
  set_env(sp, "CONVERGE_BIND_CORES", g_binding_hint->cores);
  if (!g_binding_hint->numa.empty()) set_env(sp, "CONVERGE_BIND_NUMA", g_binding_hint->numa);
}

// The commands apply -v only after slurm_spank_init, so they report later:
// sbatch and salloc after option parsing, srun once its step is set up.
CONVERGE_EXPORT int slurm_spank_init_post_opt(spank_t sp, int argc, char** argv) {
  if (spank_context() == S_CTX_ALLOCATOR) slurm_verbose("spank/converge: active in allocator");
  if (spank_context() == S_CTX_REMOTE) {
    parse_arguments(argc, argv);
    make_job_directory(sp);
    if (g_converged_step) find_binding_hint(sp);  // only converged jobs pay for it
  }
  return 0;
}

CONVERGE_EXPORT int slurm_spank_local_user_init(spank_t /*sp*/, int /*argc*/, char** /*argv*/) {
  slurm_verbose("spank/converge: active in srun");
  return 0;
}

// Runs in slurmstepd for batch scripts and srun steps alike, before the
// user's processes start.
CONVERGE_EXPORT int slurm_spank_user_init(spank_t sp, int argc, char** argv) {
  if (!spank_remote(sp)) return 0;
  parse_arguments(argc, argv);
  export_option(sp, g_options[0], "CONVERGE_TYPE");
  export_option(sp, g_options[1], "CONVERGE_SERVICES");

  std::uint32_t job_id = 0, step_id = 0;
  if (spank_get_item(sp, S_JOB_ID, &job_id) != ESPANK_SUCCESS) return 0;
  spank_get_item(sp, S_JOB_STEPID, &step_id);
  const auto& settings = launch_settings();
  std::string job = std::to_string(job_id);
  std::string job_dir = settings.job_dir_of(job);
  set_env(sp, "CONVERGE_JOB_DIR", job_dir);
  set_env(sp, "CONVERGE_ENDPOINTS", job_dir + "/endpoints.json");
  set_env(sp, "CONVERGE_KAPOK_MOUNT", settings.kapok_mount_of(job, node_name()));
  if (!g_config.empty()) set_env(sp, "CONVERGE_CONFIG", g_config);
  export_binding_hint(sp);

  char* services = nullptr;
  if (step_id == SLURM_BATCH_SCRIPT && !g_launcher.empty() &&
      spank_option_getopt(sp, &g_options[1], &services) == ESPANK_SUCCESS && services &&
      *services) {
    if (!g_job_dir_problem.empty())
      g_bringup_failure = "converge: " + g_job_dir_problem + "\n";
    else
      g_bringup_failure = launch_services(sp, job_id, services, job_dir, settings);
  }
  // Never an error here, whatever happened: that would drain the node.
  return 0;
}

// In the batch task, after its output is connected to the job's output file
// and before the script is executed: a job whose services did not come up
// ends here with exit code 1 and the launcher's reasons, the job's failure.
CONVERGE_EXPORT int slurm_spank_task_init(spank_t /*sp*/, int /*argc*/, char** /*argv*/) {
  if (g_bringup_failure.empty()) return 0;
  std::string message = "converge: the job's services did not start, so its script did not run:\n" +
                        g_bringup_failure;
  for (std::size_t done = 0; done < message.size();) {
    ssize_t n = write(STDERR_FILENO, message.data() + done, message.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  return -1;
}

// True in the slurmstepd of converge-launch's service step. Any user can
// name a program of theirs so; that only buys their step a cleanup, which
// touches nothing but their own processes and mounts (cleanup_services).
bool is_service_step(spank_t sp) {
  int argc = 0;
  char** argv = nullptr;
  if (spank_get_item(sp, S_JOB_ARGV, &argc, &argv) != ESPANK_SUCCESS || argc < 2) return false;
  std::string program = argv[0];
  return program.size() >= 15 && program.compare(program.size() - 15, 15, "converge-launch") == 0 &&
         std::string(argv[1]) == "serve";
}

// slurmstepd, as root, when a step ends on a node, whatever ended it (down,
// scancel, the time limit, the job's end, its ranks killed outright): for
// the service step, whatever of the job's services is still there goes.
// Only this step pays for it; other jobs and steps run no extra code.
CONVERGE_EXPORT int slurm_spank_exit(spank_t sp, int argc, char** argv) {
  if (spank_context() != S_CTX_REMOTE) return 0;
  parse_arguments(argc, argv);
  std::uint32_t job_id = 0, step_id = 0;
  if (spank_get_item(sp, S_JOB_ID, &job_id) != ESPANK_SUCCESS) return 0;
  if (spank_get_item(sp, S_JOB_STEPID, &step_id) == ESPANK_SUCCESS &&
      step_id == SLURM_BATCH_SCRIPT) {
    // A job that used no service leaves no trace (rmdir removes only an
    // empty directory).
    rmdir(launch_settings().job_dir_of(std::to_string(job_id)).c_str());
    return 0;
  }
  if (!is_service_step(sp)) return 0;
  uid_t uid = 0;
  if (spank_get_item(sp, S_JOB_UID, &uid) != ESPANK_SUCCESS) {
    slurm_error("spank/converge: job %u: no user id, no cleanup", job_id);
    return 0;
  }
  std::string job = std::to_string(job_id), node = node_name();
  try {
    std::string mount = launch_settings().kapok_mount_of(job, node);
    auto report = converge::cleanup_services(job, node, uid, {mount});
    if (report.processes_stopped || !report.unmounted.empty()) {
      slurm_info(
          "spank/converge: job %u on %s: stopped %d service processes, detached %zu mounts (%s)",
          job_id, node.c_str(), report.processes_stopped, report.unmounted.size(), mount.c_str());
    }
    for (const auto& problem : report.problems) {
      slurm_error("spank/converge: job %u cleanup on %s: %s", job_id, node.c_str(),
                  problem.c_str());
    }
  } catch (const std::exception& e) {
    slurm_error("spank/converge: job %u cleanup on %s: %s", job_id, node.c_str(), e.what());
  }
  return 0;
}
