// SPDX-License-Identifier: GPL-2.0-or-later
#include "engine/kv_cache.h"
#include "sched/policies.h"

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
  for (const auto& s : running_) add(usage, *s);
  return usage;
}

void TdpipeScheduler::add(Usage& usage, const SeqState& s) const {
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
  }
  plan_decode(plan);
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
    add(usage, s);
    budget -= need;
    ++seqs;
  }
}

void TdpipeScheduler::plan_decode(Plan& plan) {
  const int stages = config_.stages;
  const int target =
      std::min(config_.max_batch_seqs, (int(running_.size()) + stages - 1) / stages);
  int seqs = 0;
  for (SeqState* s : running_list()) {
    if (seqs >= target) break;
    if (!s->running || s->in_flight || !s->prefilled()) continue;
    if (add_decode(plan, *s)) ++seqs;
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
    add(usage, *w);
    tokens += w->length();
    ++admissible;
  }
  if (admissible == 0) return false;
  const int stages = config_.stages;
  if (config_.cost == nullptr)  // no cost model: switch once a full pipeline of prefill waits
    return tokens >= long(config_.max_batch_tokens) * stages;
  const StageCost& cost = *config_.cost;

  // Decode: ceil(R / P) sequences per micro-batch, one micro-batch per stage time.
  double context = 0;
  for (const auto& s : running_) context += s->length();
  context /= double(running_.size());
  const int batch =
      std::min(config_.max_batch_seqs, (int(running_.size()) + stages - 1) / stages);
  const double decode_time = cost.seconds({0, batch, context});
  const double decode_rate = batch / decode_time;

  // Prefill of the admissible tokens in full micro-batches, plus the bubble.
  const long per_batch = config_.max_batch_tokens;
  const long full = tokens / per_batch;
  const int rest = int(tokens % per_batch);
  const double full_time = full > 0 ? cost.seconds({int(per_batch), 0, 0}) : 0;
  const double rest_time = rest > 0 ? cost.seconds({rest, 0, 0}) : 0;
  const double prefill_time = double(full) * full_time + rest_time;
  const double bubble = (stages - 1) * (decode_time + (full > 0 ? full_time : rest_time));
  const double prefill_rate = double(tokens) / (prefill_time + bubble);
  return decode_rate < prefill_rate;
}

}  // namespace tdpipe
