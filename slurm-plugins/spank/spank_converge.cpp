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
// step) and fails if that fails. The job's end stops the service step; when
// that step ends on a node, its slurmstepd (as root) stops any service
// process of the job left there and detaches its mounts, so nothing outlives
// a job. The plugin defines no job prolog or epilog: those would cost every
// job on every node a process start.
//
// plugstack.conf arguments: config=PATH (converge.json) launcher=PATH
// (converge-launch). Only Slurm's public SPANK API is used here.
#include "converge/binding_hint.h"
#include "converge/job_request.h"
#include "converge/launch_settings.h"
#include "converge/service_cleanup.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
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

// Validates one option value; the message is what the user sees.
int check_option(int id, const char* value, int /*remote*/) {
  try {
    if (!value) throw converge::JobRequestError("missing value");
    if (id == kTypeOption) converge::parse_job_type(value);
    if (id == kServicesOption) converge::parse_services(value);
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

converge::LaunchSettings launch_settings() {
  try {
    if (!g_config.empty() && std::filesystem::exists(g_config))
      return converge::LaunchSettings::load(g_config);
  } catch (const std::exception& e) {
    slurm_error("spank/converge: %s (using the default launcher settings)", e.what());
  }
  return {};
}

std::string node_name() {
  const char* name = std::getenv("SLURMD_NODENAME");
  return name ? name : "";
}

void set_env(spank_t sp, const char* name, const std::string& value) {
  if (spank_setenv(sp, name, value.c_str(), 1) != ESPANK_SUCCESS)
    slurm_error("spank/converge: cannot set %s in the job environment", name);
}

// Runs `converge-launch up` for a batch job, as the job's user, with the
// job's environment; its output goes to the job directory's launch.log.
int launch_services(spank_t sp, std::uint32_t job_id, const std::string& services,
                    const std::string& job_dir) {
  char** job_env = nullptr;
  std::uint32_t nodes = 0;
  if (spank_get_item(sp, S_JOB_ENV, &job_env) != ESPANK_SUCCESS ||
      spank_get_item(sp, S_JOB_NNODES, &nodes) != ESPANK_SUCCESS) {
    slurm_error("spank/converge: cannot read the job's environment");
    return -1;
  }
  std::vector<std::string> env;
  for (char** e = job_env; e && *e; ++e) env.emplace_back(*e);
  env.push_back("SLURM_JOB_ID=" + std::to_string(job_id));
  env.push_back("SLURM_JOB_NUM_NODES=" + std::to_string(nodes));
  env.push_back("SLURMD_NODENAME=" + node_name());
  std::vector<char*> c_env;
  for (auto& e : env) c_env.push_back(e.data());
  c_env.push_back(nullptr);
  std::vector<std::string> args{g_launcher, "up", "--services", services};
  if (!g_config.empty()) args.insert(args.end(), {"--config", g_config});
  std::vector<char*> c_args;
  for (auto& a : args) c_args.push_back(a.data());
  c_args.push_back(nullptr);
  std::string log = job_dir + "/logs/launch.log";

  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    // Become the job's user for good (slurmstepd only dropped privileges for now).
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0) _exit(126);
    std::error_code ec;
    std::filesystem::create_directories(job_dir + "/logs", ec);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
    }
    execve(c_args[0], c_args.data(), c_env.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  slurm_error("spank/converge: job %u: converge-launch up --services %s failed (see %s)", job_id,
              services.c_str(), log.c_str());
  return -1;
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

// The commands apply -v only after slurm_spank_init, so they report later:
// sbatch and salloc after option parsing, srun once its step is set up.
CONVERGE_EXPORT int slurm_spank_init_post_opt(spank_t /*sp*/, int /*argc*/, char** /*argv*/) {
  if (spank_context() == S_CTX_ALLOCATOR) slurm_verbose("spank/converge: active in allocator");
  return 0;
}

CONVERGE_EXPORT int slurm_spank_local_user_init(spank_t /*sp*/, int /*argc*/, char** /*argv*/) {
  slurm_verbose("spank/converge: active in srun");
  return 0;
}

// The binding hint for a converged job's step on this node: the cores Slurm
// gave the step here and their NUMA nodes (see converge/binding_hint.h).
void export_binding_hint(spank_t sp) {
  char* cores = nullptr;
  if (spank_get_item(sp, S_STEP_ALLOC_CORES, &cores) != ESPANK_SUCCESS || !cores || !*cores) {
    if (spank_get_item(sp, S_JOB_ALLOC_CORES, &cores) != ESPANK_SUCCESS || !cores || !*cores)
      return;
  }
  auto list = converge::parse_cpu_list(cores);
  if (!list) return;
  auto hint = converge::binding_hint(*list, converge::numa_of_cores());
  set_env(sp, "CONVERGE_BIND_CORES", hint.cores);
  if (!hint.numa.empty()) set_env(sp, "CONVERGE_BIND_NUMA", hint.numa);
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
  auto settings = launch_settings();
  std::string job = std::to_string(job_id);
  std::string job_dir = settings.job_dir_of(job);
  set_env(sp, "CONVERGE_JOB_DIR", job_dir);
  set_env(sp, "CONVERGE_ENDPOINTS", job_dir + "/endpoints.json");
  set_env(sp, "CONVERGE_KAPOK_MOUNT", settings.kapok_mount_of(job, node_name()));
  if (!g_config.empty()) set_env(sp, "CONVERGE_CONFIG", g_config);
  char* type = nullptr;
  if (spank_option_getopt(sp, &g_options[0], &type) == ESPANK_SUCCESS && type)
    export_binding_hint(sp);  // only converged jobs pay for it

  char* services = nullptr;
  if (step_id == SLURM_BATCH_SCRIPT && !g_launcher.empty() &&
      spank_option_getopt(sp, &g_options[1], &services) == ESPANK_SUCCESS && services &&
      *services) {
    return launch_services(sp, job_id, services, job_dir);
  }
  return 0;
}

// True in the slurmstepd of converge-launch's service step.
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
  if (spank_context() != S_CTX_REMOTE || !is_service_step(sp)) return 0;
  parse_arguments(argc, argv);
  std::uint32_t job_id = 0;
  if (spank_get_item(sp, S_JOB_ID, &job_id) != ESPANK_SUCCESS) return 0;
  std::string job = std::to_string(job_id), node = node_name();
  try {
    std::string mount = launch_settings().kapok_mount_of(job, node);
    auto report = converge::cleanup_services(job, node, {mount});
    if (report.processes_stopped || !report.unmounted.empty()) {
      slurm_info(
          "spank/converge: job %u on %s: stopped %d service processes, detached %zu mounts (%s)",
          job_id, node.c_str(), report.processes_stopped, report.unmounted.size(), mount.c_str());
    }
  } catch (const std::exception& e) {
    slurm_error("spank/converge: job %u cleanup on %s: %s", job_id, node.c_str(), e.what());
  }
  return 0;
}
