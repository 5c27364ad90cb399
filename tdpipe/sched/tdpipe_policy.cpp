// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/engine/kv_cache.h"
#include "tdpipe/sched/policies.h"

#include <algorithm>
#include <cmath>

namespace tdpipe {

int TdpipeScheduler::projected_blocks(const SeqState& s, int steps) {
  int left = s.limit - s.length();  // at most this many tokens more
  if (s.predicted > 0) {
    // One that outlived its prediction is expected to end within a block.
    left = std::min(left, std::max(s.predicted - s.generated, kBlockTokens));
  }
  if (steps > 0 && steps >= std::max(left, 1)) return 0;
  return blocks_for(std::min(s.length() + steps, s.limit));
}

TdpipeScheduler::Usage TdpipeScheduler::projected_usage() const {
  Usage usage{};
  for (const auto& s : running_) add_projection(usage, *s);
  return usage;
}

void TdpipeScheduler::add_projection(Usage& usage, const SeqState& s) const {
  for (std::size_t k = 0; k < kCheckpoints.size(); ++k)
    usage[k] += projected_blocks(s, kCheckpoints[k]);
}

bool TdpipeScheduler::fits(const Usage& usage, const SeqState& s) const {
  const double limit = config_.kv_fraction * config_.kv_blocks;
  for (std::size_t k = 0; k < kCheckpoints.size(); ++k)
    if (usage[k] + projected_blocks(s, kCheckpoints[k]) > limit) return false;
  return true;
}

void TdpipeScheduler::plan(Plan& plan) {
  if (running_.empty()) {
    prefill_phase_ = true;
  } else if (!prefill_phase_ && should_switch_to_prefill()) {
    prefill_phase_ = true;
    ++stats_.phase_switches;
  }
  if (prefill_phase_) {
    plan_prefill(plan);
    if (!plan.chunks.empty()) {
      plan.prefill = true;
      return;
    }
    prefill_phase_ = false;  // the projection is full, or nothing waits
    decode_time_ = 0;
  }
  plan_decode(plan);
  if (config_.cost != nullptr && !plan.chunks.empty())
    decode_time_ += config_.cost->seconds(plan.shape());
}

void TdpipeScheduler::plan_prefill(Plan& plan) {
  Usage usage = projected_usage();
  int budget = config_.max_batch_tokens, seqs = 0;
  while (!waiting_.empty() && seqs < config_.max_batch_seqs && may_admit(stats_.preemptions)) {
    SeqState& s = *waiting_.front();
    int need = s.length();
    if (need > budget && !plan.chunks.empty()) break;  // the next micro-batch takes it
    // With nothing running, the first is admitted whatever its projection.
    if (!fits(usage, s) && !running_.empty()) break;
    if (!admit(plan, 0)) break;
    add_projection(usage, s);
    budget -= need;
    ++seqs;
  }
}

void TdpipeScheduler::plan_decode(Plan& plan) {
  const int stages = config_.stages;
  const int target = std::min(config_.max_batch_seqs, (int(running_.size()) + stages - 1) / stages);
  // The ready sequences, those back the longest first.
  std::vector<SeqState*> ready;
  for (SeqState* s : running_list())
    if (!s->in_flight && s->prefilled()) ready.push_back(s);
  std::stable_sort(ready.begin(), ready.end(),
                   [](const SeqState* a, const SeqState* b) { return a->returned < b->returned; });
  // A decode token's work grows with the context it attends to: weigh each
  // sequence as its length plus the context worth a token's fixed work, and
  // give each micro-batch a P-th of the running sequences' weight too.
  double offset = 0, share = 1e300;
  if (config_.cost != nullptr && !running_.empty()) {
    double context = 0;
    for (const auto& s : running_) context += s->length();
    context /= double(running_.size());
    const StageCost& cost = *config_.cost;
    const double at = cost.seconds({0, target, context}),
                 twice = cost.seconds({0, target, 2 * context});
    const double per_position = (twice - at) / (double(target) * context);
    if (per_position > 0) {
      offset = std::max(0.0, at / target / per_position - context);
      share = (context + offset) * double(running_.size()) / stages;
    }
  }
  int seqs = 0;
  double weight = 0;
  for (SeqState* s : ready) {
    if (seqs >= target || weight >= share) break;
    if (!s->running || s->in_flight) continue;  // preempted to make room
    if (add_decode(plan, *s)) {
      ++seqs;
      weight += s->length() + offset;
    }
  }
}

bool TdpipeScheduler::should_switch_to_prefill() const {
  if (waiting_.empty()) return false;
  // What a prefill phase could admit now: the projection's greedy prefix.
  Usage usage = projected_usage();
  long tokens = 0;
  std::size_t room = std::size_t(config_.stages) * std::size_t(config_.max_batch_seqs);
  room = room > running_.size() ? room - running_.size() : 0;
  std::size_t admissible = 0;
  for (const auto& w : waiting_) {
    if (admissible >= room || !fits(usage, *w)) break;
    add_projection(usage, *w);
    tokens += w->length();
    ++admissible;
  }
  if (admissible == 0) return false;
  const int stages = config_.stages;
  if (config_.cost == nullptr)  // no cost model: switch once a full pipeline of prefill waits
    return tokens >= long(config_.max_batch_tokens) * stages;
  const StageCost& cost = *config_.cost;

  // Decode intensity: tokens per stage-second of micro-batches of
  // ceil(R / P) sequences, now and after a prefill phase refilled them.
  double context = 0;
  for (const auto& s : running_) context += s->length();
  context /= double(running_.size());
  auto decode_batch = [&](std::size_t sequences) {
    return std::min(config_.max_batch_seqs, int((sequences + std::size_t(stages) - 1) / stages));
  };
  auto intensity = [&](int batch) { return batch / cost.seconds({0, batch, context}); };
  const int now = decode_batch(running_.size());
  const int refilled = decode_batch(running_.size() + admissible);
  // The bubble a switch costs: the pipeline drains a decode micro-batch
  // and fills with a prefill one, and back.
  const int prefill_batch = int(std::min<long>(tokens, config_.max_batch_tokens));
  const double bubble =
      (stages - 1) * (cost.seconds({0, now, context}) + cost.seconds({prefill_batch, 0, 0}));
  // A prefill phase achieves the refilled intensity, net of the bubble
  // spread over a decode phase as long as this one has been.
  const double net = intensity(refilled) * decode_time_ / (decode_time_ + bubble);
  return intensity(now) < net;
}

}  // namespace tdpipe
