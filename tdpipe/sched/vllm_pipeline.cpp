// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/sched/policies.h"

#include <algorithm>

namespace tdpipe {

VllmPipelineScheduler::VllmPipelineScheduler(SchedulerConfig config)
    : Scheduler(config),
      busy_(std::size_t(config.stages), false),
      unfinished_(std::size_t(config.stages), 0) {
  set_pools(config.stages);
}

int VllmPipelineScheduler::pool_for(const SeqState&) const {
  return int(std::min_element(unfinished_.begin(), unfinished_.end()) - unfinished_.begin());
}

void VllmPipelineScheduler::on_add(const SeqState& s) {
  ++unfinished_[std::size_t(s.pool)];
}

void VllmPipelineScheduler::on_finish(const SeqState& s) {
  --unfinished_[std::size_t(s.pool)];
}

void VllmPipelineScheduler::on_complete(const Plan& plan) {
  busy_[std::size_t(plan.pool)] = false;
}

void VllmPipelineScheduler::plan(Plan& plan) {
  const int engines = config_.stages;
  for (int k = 0; k < engines; ++k) {
    int engine = (turn_ + k) % engines;
    if (busy_[std::size_t(engine)]) continue;
    plan_engine(plan, engine);
    if (plan.chunks.empty()) continue;
    busy_[std::size_t(engine)] = true;
    plan.pool = engine;
    turn_ = (engine + 1) % engines;
    return;
  }
}

void VllmPipelineScheduler::plan_engine(Plan& plan, int engine) {
  int running = 0;
  for (const auto& s : running_) running += s->pool == engine;
  // Prefill first: the engine's waiting requests in order, whole, while
  // the token budget, its sequence limit and its blocks allow.
  int budget = config_.max_batch_tokens;
  for (std::size_t i = 0; i < waiting_.size() && running < config_.max_batch_seqs;) {
    SeqState& s = *waiting_[i];
    if (s.pool != engine) {
      ++i;
      continue;
    }
    int need = s.length();
    if (need > budget && !plan.chunks.empty()) break;
    if (!admit(plan, i)) break;  // first come, first served: no overtaking
    budget -= need;
    ++running;
  }
  if (!plan.chunks.empty()) {
    plan.prefill = true;
    return;
  }
  // Otherwise decode every running sequence of the engine.
  int seqs = 0;
  for (SeqState* s : running_list()) {
    if (seqs >= config_.max_batch_seqs) break;
    if (s->pool != engine || !s->running || s->in_flight) continue;
    if (add_decode(plan, *s)) ++seqs;
  }
}

void VllmChunkedScheduler::plan_engine(Plan& plan, int engine) {
  const std::uint64_t preemptions = stats_.preemptions;
  int budget = config_.chunk_tokens, seqs = 0, running = 0;
  const std::vector<SeqState*> mine = [&] {
    std::vector<SeqState*> out;
    for (SeqState* s : running_list())
      if (s->pool == engine) out.push_back(s);
    return out;
  }();
  running = int(mine.size());
  add_decodes_then_prefills(plan, mine, budget, seqs);
  if (stats_.preemptions != preemptions) return;
  for (std::size_t i = 0; i < waiting_.size() && budget > 0 && running < config_.max_batch_seqs;) {
    SeqState& s = *waiting_[i];
    if (s.pool != engine) {
      ++i;
      continue;
    }
    int count = std::min(budget, s.length());
    if (!admit(plan, i, count)) break;  // first come, first served
    budget -= count;
    ++running;
  }
}

}  // namespace tdpipe
