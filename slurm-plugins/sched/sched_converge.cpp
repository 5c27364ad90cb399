// SPDX-License-Identifier: GPL-2.0-or-later
//
// sched/converge: Converge's scheduler plugin for slurmctld.
//
// Push side: the ordering and backfill mechanics are Slurm's own: this
// plugin loads sched/backfill inside itself and runs it. Pull side: big-data
// jobs are pulled by nodes with free capacity (pull_agent.h). Converge's
// agent thread classifies jobs by their --converge-type and moves idle nodes
// between the adaptive pools (pool_agent.h). The site's converge.json is
// kept at its last good value when a reload fails.
#include "common/slurm_internal.h"

#include "common/controller_lock.h"
#include "common/sibling_plugins.h"
#include "common/job_record.h"
#include "pool_agent.h"
#include "pull_agent.h"
#include "common/slurm_log_sink.h"
#include "converge/sched/locality_map.h"
#include "converge/site_config.h"

#include <sys/stat.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

CONVERGE_EXPORT const char plugin_name[] = "Converge hybrid scheduler";
CONVERGE_EXPORT const char plugin_type[] = "sched/converge";
CONVERGE_EXPORT const uint32_t plugin_version = SLURM_VERSION_NUMBER;

namespace {

using converge::SiteConfig;
namespace log = converge::log;

std::string site_config_path() {
  char* path = get_extra_conf_path(const_cast<char*>("converge.json"));
  std::string out = path ? path : "";
  xfree(path);
  return out;
}

// The delegate that does the push-side mechanics until Converge's own
// policies take over: Slurm's backfill scheduler, loaded as a plugin.
class BackfillDelegate {
 public:
  bool start() {
    context_ =
        plugin_context_create("sched", "sched/backfill", reinterpret_cast<void**>(&reconfig_),
                              const_cast<const char**>(kSymbols), sizeof(kSymbols));
    return context_ != nullptr;
  }
  void reconfigure() {
    if (reconfig_) reconfig_();
  }
  void stop() {
    if (context_) plugin_context_destroy(context_);  // runs backfill's fini()
    context_ = nullptr;
    reconfig_ = nullptr;
  }

 private:
  static constexpr const char* kSymbols[] = {"sched_p_reconfig"};
  plugin_context_t* context_ = nullptr;
  int (*reconfig_)() = nullptr;
};

class ConvergeAgent {
 public:
  ConvergeAgent(converge::slurm::PoolAgent& pools, std::function<void()> on_pool_moves)
      : pools_(pools), on_pool_moves_(std::move(on_pool_moves)) {}
  void start(const SiteConfig& config) {
    config_ = config;
    thread_ = std::thread([this] { run(); });
  }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  void set_config(const SiteConfig& config) {
    {
      std::lock_guard lock(mutex_);
      config_ = config;
    }
    wake_.notify_all();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      try {  // nothing may end slurmctld's thread: report and go on
        classify_new_jobs();
        if (pools_.tick() > 0) on_pool_moves_();
      } catch (const std::exception& e) {
        log::error("agent: {} (continuing)", e.what());
      }
      lock.lock();
      wake_.wait_for(lock, config_.scheduler_interval, [this] { return stopping_; });
    }
  }

  // Logs the Converge class of every job the agent has not seen yet.
  void classify_new_jobs() {
    converge::slurm::ControllerLock job_read(converge::slurm::kJobRead);
    std::map<uint32_t, converge::JobRequest> fresh;
    uint32_t newest = last_job_id_;
    ListIterator it = list_iterator_create(job_list);
    while (auto* job = static_cast<job_record_t*>(list_next(it))) {
      if (job->job_id <= last_job_id_) continue;
      fresh.emplace(job->job_id, converge::slurm::job_request_of(job));
      newest = std::max(newest, job->job_id);
    }
    list_iterator_destroy(it);
    job_read.unlock();
    last_job_id_ = newest;
    for (const auto& [job_id, request] : fresh) {
      if (!request.type) continue;
      log::info(
          "job {} class={} services={}", job_id, converge::to_string(*request.type),
          request.services.empty() ? "none" : fmt::format("{}", fmt::join(request.services, ",")));
    }
  }

  converge::slurm::PoolAgent& pools_;
  std::function<void()> on_pool_moves_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  SiteConfig config_;
  uint32_t last_job_id_ = 0;
};

BackfillDelegate g_backfill;
converge::slurm::PullAgent g_pull;
converge::slurm::PoolAgent g_pools;
ConvergeAgent g_agent(g_pools, [] { g_pull.status_changed(); });
SiteConfig g_config;  // last good converge.json

// Loads converge.json if the site has one; on error keeps `current`.
SiteConfig load_site_config(const SiteConfig& current, const char* when) {
  std::string path = site_config_path();
  struct stat st;
  if (path.empty() || stat(path.c_str(), &st) != 0) {
    log::verbose("no {} ({}): using built-in settings", path, when);
    return current;
  }
  try {
    SiteConfig loaded = SiteConfig::load_file(path);
    // The locality map is part of the policy: a bad one keeps the old policy too.
    auto locality = std::make_shared<converge::sched::LocalityMap>();
    if (!loaded.locality_map.empty())
      *locality = converge::sched::LocalityMap::load_file(loaded.locality_map);
    g_pull.set_locality(locality);
    g_pools.configure(loaded.pools, loaded.pools_text);
    log::info("loaded {} ({}){}", path, when,
              loaded.locality_map.empty() ? ""
                                          : fmt::format(", locality map {} ({} prefixes)",
                                                        loaded.locality_map, locality->size()));
    return loaded;
  } catch (const converge::config::Error& e) {
    log::error("{} ({}); keeping the previous settings", e.what(), when);
    return current;
  }
}

}  // namespace

CONVERGE_EXPORT int init(void) {
  converge::slurm::install_log_sink(plugin_type);
  return converge::slurm::guarded("init", SLURM_ERROR, [] {
    g_config = load_site_config(SiteConfig::defaults(), "start");
    if (!g_backfill.start()) {
      log::error("cannot load sched/backfill, which sched/converge runs for push scheduling");
      return SLURM_ERROR;
    }
    g_pull.set_status_source(
        [](converge::sched::SchedulerStatus& status) { g_pools.add_status(status); });
    g_agent.start(g_config);
    g_pull.start();
    log::info(
        "active: Converge agent started, push scheduling by sched/backfill, big-data jobs pulled "
        "by nodes");
    return SLURM_SUCCESS;
  });
}

CONVERGE_EXPORT void fini(void) {
  converge::slurm::guarded("fini", 0, [] {
    g_pull.stop();
    g_agent.stop();
    g_backfill.stop();
    log::info("stopped");
    return 0;
  });
}

CONVERGE_EXPORT int sched_p_reconfig(void) {
  return converge::slurm::guarded("reconfig", SLURM_ERROR, [] {
    g_config = load_site_config(g_config, "reconfigure");
    g_agent.set_config(g_config);
    g_backfill.reconfigure();
    log::info("reconfigured");
    return SLURM_SUCCESS;
  });
}

// select/converge calls this (see common/sibling_plugins.h) when a job ends.
CONVERGE_EXPORT void converge_sched_capacity_freed(void) {
  g_pull.wake();
}

// For select/converge (common/sibling_plugins.h); the caller holds the node
// read lock, so node records can be looked up.
CONVERGE_EXPORT int converge_sched_data_nodes(const char* path, bitstr_t* holders) {
  if (!path || !holders) return 0;
  int found = 0;
  for (const auto& name : g_pull.data_nodes(path)) {
    if (node_record_t* node = find_node_record(const_cast<char*>(name.c_str()))) {
      bit_set(holders, node->index);
      ++found;
    }
  }
  return found;
}
