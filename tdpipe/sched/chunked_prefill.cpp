// SPDX-License-Identifier: GPL-2.0-or-later
#include "sched/policies.h"

#include <algorithm>

namespace tdpipe {

void ChunkedPrefillScheduler::plan(Plan& plan) {
  const std::uint64_t preemptions = stats_.preemptions;
  int budget = config_.chunk_tokens, seqs = 0;
  const std::vector<SeqState*> running = running_list();
  for (SeqState* s : running) {  // decodes first
    if (budget < 1 || seqs >= config_.max_batch_seqs) break;
    if (!s->running || s->in_flight || !s->prefilled()) continue;
    if (add_decode(plan, *s)) {
      --budget;
      ++seqs;
    }
  }
  for (SeqState* s : running) {  // then prefills under way
    if (budget < 1 || seqs >= config_.max_batch_seqs) break;
    if (!s->running || s->in_flight || s->prefilled()) continue;
    int before = s->cached;
    add_prefill(plan, *s, budget);
    budget -= s->cached - before;
    ++seqs;
  }
  while (budget > 0 && !waiting_.empty() && seqs < config_.max_batch_seqs &&
         may_admit(preemptions)) {  // then new ones
    int count = std::min(budget, waiting_.front()->length());
    if (!admit(plan, 0, count)) break;
    budget -= count;
    ++seqs;
  }
}

}  // namespace tdpipe
