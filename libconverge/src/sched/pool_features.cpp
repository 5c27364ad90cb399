// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/sched/pool_features.h"

#include <vector>

namespace converge::sched {
namespace {

constexpr std::string_view kPrefix = "pool_";

std::vector<std::string_view> split(std::string_view list) {
  std::vector<std::string_view> out;
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

std::string pool_feature(JobType pool) {
  return std::string(kPrefix) + std::string(to_string(pool));
}

std::optional<JobType> pool_in_features(std::string_view features) {
  for (auto item : split(features)) {
    if (!item.starts_with(kPrefix)) continue;
    for (JobType t : {JobType::sim, JobType::bigdata, JobType::ai}) {
      if (item.substr(kPrefix.size()) == to_string(t)) return t;
    }
  }
  return std::nullopt;
}

std::string with_pool_feature(std::string_view features, std::optional<JobType> pool) {
  std::string out;
  for (auto item : split(features)) {
    bool is_pool = false;
    for (JobType t : {JobType::sim, JobType::bigdata, JobType::ai})
      is_pool = is_pool || item == pool_feature(t);
    if (is_pool) continue;
    if (!out.empty()) out += ',';
    out += item;
  }
  if (pool) {
    if (!out.empty()) out += ',';
    out += pool_feature(*pool);
  }
  return out;
}

bool pool_admits(std::optional<JobType> node_pool, std::optional<JobType> job) {
  return !node_pool || !job || *node_pool == *job;
}

}  // namespace converge::sched
