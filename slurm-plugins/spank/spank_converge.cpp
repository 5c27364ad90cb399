// SPDX-License-Identifier: GPL-2.0-or-later
//
// spank/converge: the user's side of Converge in sbatch, srun and salloc.
//
//   --converge-type=sim|bigdata|ai     the job's class, which decides how
//                                      sched/converge schedules it
//   --converge-services=LIST           services for converge-launch to bring
//                                      up in the allocation (kapok,topo,tdpipe)
//
// A bad value makes the command refuse before any job exists. Good values
// travel in the job's SPANK environment, where slurmctld's Converge plugins
// read them, and reach the job's processes as CONVERGE_TYPE and
// CONVERGE_SERVICES. Only Slurm's public SPANK API is used here.
#include "converge/job_request.h"

// spank.h declares the callbacks outside any extern "C" block.
extern "C" {
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

enum OptionId { kTypeOption = 1, kServicesOption = 2 };

// Validates one option value; the message is what the user sees.
int check_option(int id, const char* value, int /*remote*/) {
  try {
    if (!value) throw converge::JobRequestError("missing value");
    if (id == kTypeOption) converge::parse_job_type(value);
    if (id == kServicesOption) converge::parse_services(value);
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

struct spank_option g_options[] = {
    {kTypeName, kTypeArg, kTypeUsage, 1, kTypeOption, check_option},
    {kServicesName, kServicesArg, kServicesUsage, 1, kServicesOption, check_option},
};

// Exports an option's value to the job's tasks as an environment variable.
void export_option(spank_t sp, spank_option& option, const char* variable) {
  char* value = nullptr;
  if (spank_option_getopt(sp, &option, &value) != ESPANK_SUCCESS || !value) return;
  if (spank_setenv(sp, variable, value, 1) != ESPANK_SUCCESS) {
    slurm_error("spank/converge: cannot set %s in the job environment", variable);
  }
}

}  // namespace

CONVERGE_EXPORT int slurm_spank_init(spank_t sp, int /*argc*/, char** /*argv*/) {
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

// Runs in slurmstepd for batch scripts and srun steps alike, before the
// user's processes start.
CONVERGE_EXPORT int slurm_spank_user_init(spank_t sp, int /*argc*/, char** /*argv*/) {
  if (!spank_remote(sp)) return 0;
  export_option(sp, g_options[0], "CONVERGE_TYPE");
  export_option(sp, g_options[1], "CONVERGE_SERVICES");
  return 0;
}
