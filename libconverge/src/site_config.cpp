// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/site_config.h"

namespace converge {

SiteConfig SiteConfig::from_json(const config::Json& json, const std::string& origin) {
  SiteConfig out;
  config::Node root(json, origin);
  root.allow_only({"log_level", "scheduler", "pools", "policy", "rpc", "cluster", "kapok",
                   "launcher", "tdpipe"});
  if (auto level = root.find("log_level")) {
    out.log_level =
        *log::parse_level(level->as_enum({"error", "warning", "info", "verbose", "debug"}));
  }
  if (auto scheduler = root.find("scheduler")) {
    scheduler->allow_only({"interval_ms", "locality_map"});
    if (auto map = scheduler->find("locality_map")) {
      out.locality_map = map->as_string();
      if (out.locality_map.empty() || out.locality_map[0] != '/')
        map->fail("must be an absolute path");
    }
    if (auto interval = scheduler->find("interval_ms")) {
      out.scheduler_interval = std::chrono::milliseconds(interval->as_int(100, 600'000));
    }
  }
  if (auto pools = root.find("pools")) {
    out.pools = sched::PoolSettings::from_config(*pools);
    out.pools_text = json.at("pools").dump();
  }
  if (auto policy = root.find("policy")) out.policy = sched::JobPolicy::from_config(*policy);
  // "cluster" belongs to converge-cluster (the local virtual cluster),
  // "kapok" to Kapok's servers and clients, "launcher" to converge-launch.
  return out;
}

SiteConfig SiteConfig::load_file(const std::string& path) {
  return from_json(config::load_file(path), path);
}

}  // namespace converge
