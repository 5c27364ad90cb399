// SPDX-License-Identifier: GPL-2.0-or-later
//
// Pools are made visible in Slurm as node features: a node of the bigdata
// pool carries "pool_bigdata" (scontrol show node, sinfo -o %f). The feature
// is the membership: select/converge lets a job of a class with a pool run
// only on that pool's nodes (and on nodes in no pool); jobs without a class
// run anywhere.
#pragma once

#include "converge/job_request.h"

#include <optional>
#include <string>
#include <string_view>

namespace converge::sched {

std::string pool_feature(JobType pool);

// The pool named in a comma-separated feature list, if any.
std::optional<JobType> pool_in_features(std::string_view features);

// `features` with its pool feature replaced by `pool`'s (removed when
// nullopt); the admin's other features stay, in order.
std::string with_pool_feature(std::string_view features, std::optional<JobType> pool);

// Whether a job of class `job` may run on a node of pool `node_pool`.
bool pool_admits(std::optional<JobType> node_pool, std::optional<JobType> job);

}  // namespace converge::sched
