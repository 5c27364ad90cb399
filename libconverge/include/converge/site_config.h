// SPDX-License-Identifier: GPL-2.0-or-later
//
// converge.json: the site's settings for Converge's Slurm plugins, read by
// slurmctld at start and on `scontrol reconfigure`. A bad file is rejected
// with a precise error; the caller keeps its last good settings.
#pragma once

#include "converge/config.h"
#include "converge/log.h"
#include "converge/sched/job_policy.h"
#include "converge/sched/pools.h"

#include <chrono>
#include <string>

namespace converge {

struct SiteConfig {
  log::Level log_level = log::Level::info;
  // How often the scheduler's own agent wakes when nothing happens.
  std::chrono::milliseconds scheduler_interval{5000};
  // Admin's map of where data lives (see sched/locality_map.h); empty: none.
  std::string locality_map;
  // Adaptive pools ("pools" section); none configured: every node serves all.
  sched::PoolSettings pools;
  std::string pools_text;  // the section as written, to tell whether it changed
  // Who may ask for realtime priority and whole leaf switches ("policy").
  sched::JobPolicy policy;

  static SiteConfig defaults() { return {}; }
  // Throws config::Error naming the file, the key and the problem.
  static SiteConfig from_json(const config::Json& json, const std::string& origin);
  static SiteConfig load_file(const std::string& path);
};

}  // namespace converge
