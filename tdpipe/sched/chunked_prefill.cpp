// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/sched/policies.h"

#include <algorithm>

namespace tdpipe {

void ChunkedPrefillScheduler::plan(Plan& plan) {
  const std::uint64_t preemptions = stats_.preemptions;
  int budget = config_.chunk_tokens, seqs = 0;
  add_decodes_then_prefills(plan, running_list(), budget, seqs);
  while (budget > 0 && !waiting_.empty() && seqs < config_.max_batch_seqs &&
         may_admit(preemptions)) {  // then new ones
    int count = std::min(budget, waiting_.front()->length());
    if (!admit(plan, 0, count)) break;
    budget -= count;
    ++seqs;
  }
}

}  // namespace tdpipe
