// SPDX-License-Identifier: GPL-2.0-or-later
//
// Which running jobs a job may preempt, where the site enables preemption
// (PreemptType): AI inference services are long-running and hold state (a
// loaded model, a KV cache), so big-data work never preempts them, whatever
// the priorities say. Everything else is left to the site's preempt plugin.
#pragma once

#include "converge/job_request.h"

#include <optional>

namespace converge::sched {

constexpr bool may_preempt(std::optional<JobType> preemptor, std::optional<JobType> preemptee) {
  return !(preemptor == JobType::bigdata && preemptee == JobType::ai);
}

}  // namespace converge::sched
