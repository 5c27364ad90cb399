// SPDX-License-Identifier: GPL-2.0-or-later
//
// job_submit/converge: refuses, at submission and with the reason, what a
// user may not ask for (converge/sched/job_policy.h): realtime big-data
// priority and whole leaf switches, unless the site's converge.json lists
// the user, account or QOS. The SPANK options arrive in the job's SPANK
// environment, which any client can fill in, so the controller decides.
#include "common/slurm_internal.h"

#include "common/slurm_log_sink.h"
#include "converge/job_request.h"
#include "converge/site_config.h"

#include <pwd.h>
#include <sys/stat.h>

#include <mutex>
#include <string>

CONVERGE_EXPORT const char plugin_name[] = "Converge job submission policy";
CONVERGE_EXPORT const char plugin_type[] = "job_submit/converge";
CONVERGE_EXPORT const uint32_t plugin_version = SLURM_VERSION_NUMBER;

namespace {

namespace log = converge::log;

std::mutex g_mutex;
converge::sched::JobPolicy g_policy;  // guarded by g_mutex

std::string site_config_path() {
  char* path = get_extra_conf_path(const_cast<char*>("converge.json"));
  std::string out = path ? path : "";
  xfree(path);
  return out;
}

// The site's policy, read again when converge.json changes; the last good
// one when it cannot be read.
void load_policy() {
  // job_submit runs under slurmctld's job write lock: one call at a time.
  static timespec loaded{};  // the file's mtime when last read
  std::string path = site_config_path();
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && st.st_mtim.tv_sec == loaded.tv_sec &&
      st.st_mtim.tv_nsec == loaded.tv_nsec)
    return;
  loaded = st.st_mtim;
  try {
    auto config = converge::SiteConfig::load_file(path);
    config.policy.slurm_user = slurm_conf.slurm_user_id;
    std::lock_guard lock(g_mutex);
    g_policy = config.policy;
  } catch (const std::exception& e) {
    log::error("job_submit/converge: {} (keeping the previous policy)", e.what());
  }
}

std::string user_name(uid_t uid) {
  passwd entry{};
  passwd* found = nullptr;
  char buffer[4096];
  if (getpwuid_r(uid, &entry, buffer, sizeof buffer, &found) != 0 || !found) return "";
  return found->pw_name;
}

int check(const job_desc_msg_t* job, uint32_t submit_uid, char** err_msg) {
  try {
    auto request =
        converge::JobRequest::from_spank_env(job->spank_job_env, job->spank_job_env_size);
    // The job runs as user_id; only root and SlurmUser may submit for others.
    uid_t uid = job->user_id != NO_VAL ? job->user_id : submit_uid;
    converge::sched::Submitter who{uid, user_name(uid), job->account ? job->account : "",
                                   job->qos ? job->qos : ""};
    std::optional<std::string> why;
    {
      std::lock_guard lock(g_mutex);
      why = g_policy.refusal(request, who);
    }
    if (!why) return SLURM_SUCCESS;
    log::info("job_submit/converge: refused a job of uid {}: {}", uid, *why);
    if (err_msg) *err_msg = xstrdup(why->c_str());
    return ESLURM_ACCESS_DENIED;
  } catch (const std::exception& e) {
    // Never let an exception reach slurmctld; a request we cannot read is
    // one the other plugins will not honour either.
    log::error("job_submit/converge: {}", e.what());
    return SLURM_SUCCESS;
  }
}

}  // namespace

CONVERGE_EXPORT int init() {
  converge::slurm::install_log_sink(plugin_type);
  load_policy();
  return SLURM_SUCCESS;
}

CONVERGE_EXPORT int fini() {
  return SLURM_SUCCESS;
}

CONVERGE_EXPORT int job_submit(job_desc_msg_t* job_desc, uint32_t submit_uid, char** err_msg) {
  load_policy();  // cheap, and an admin's edit counts at once
  return check(job_desc, submit_uid, err_msg);
}

CONVERGE_EXPORT int job_modify(job_desc_msg_t* job_desc, job_record_t* /*job*/,
                               uint32_t submit_uid) {
  if (!job_desc->spank_job_env) return SLURM_SUCCESS;
  return check(job_desc, submit_uid, nullptr);
}
