// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/sched/policies.h"

namespace tdpipe {

void ContinuousScheduler::plan(Plan& plan) {
  const std::uint64_t preemptions = stats_.preemptions;
  int budget = config_.max_batch_tokens, seqs = 0;
  for (SeqState* s : running_list()) {
    if (seqs >= config_.max_batch_seqs || budget < 1) break;
    if (!s->running || s->in_flight) continue;
    if (add_decode(plan, *s)) {
      --budget;
      ++seqs;
    }
  }
  while (!waiting_.empty() && seqs < config_.max_batch_seqs && may_admit(preemptions)) {
    int need = waiting_.front()->length();
    if (need > budget && !plan.chunks.empty()) break;
    if (!admit(plan, 0)) break;
    budget -= need;
    ++seqs;
  }
}

}  // namespace tdpipe
