// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/sched/scheduler.h"

#include "tdpipe/engine/kv_cache.h"

#include <algorithm>
#include <stdexcept>

namespace tdpipe {

int Plan::tokens() const {
  int n = 0;
  for (const auto& c : chunks) n += c.count;
  return n;
}

BatchShape Plan::shape() const {
  BatchShape shape;
  double context = 0;
  for (const auto& c : chunks) {
    if (c.start == 0 || c.count > 1) {
      shape.prefill_tokens += c.count;
    } else {
      ++shape.decode_tokens;
      context += c.start + 1;
    }
  }
  if (shape.decode_tokens > 0) shape.decode_context = context / shape.decode_tokens;
  return shape;
}

Scheduler::Scheduler(SchedulerConfig config) : config_(config) {
  if (config_.stages < 1) throw std::invalid_argument("a pipeline needs at least one stage");
  if (config_.kv_blocks < 1) throw std::invalid_argument("the KV cache needs at least one block");
  if (config_.max_batch_tokens < 1 || config_.max_batch_seqs < 1 || config_.chunk_tokens < 1)
    throw std::invalid_argument("batch limits must be at least 1");
  if (!(config_.kv_fraction > 0 && config_.kv_fraction <= 1))
    throw std::invalid_argument("kv_fraction must be in (0, 1]");
  set_pools(1);
}

void Scheduler::set_pools(int pools) {
  free_.assign(std::size_t(pools), 0);
  for (int p = 0; p < pools; ++p) free_[std::size_t(p)] = pool_blocks(p);
}

int Scheduler::pool_blocks(int pool) const {
  int pools = int(free_.size());
  return config_.kv_blocks / pools + (pool < config_.kv_blocks % pools ? 1 : 0);
}

void Scheduler::add(const SeqState& request) {
  if (request.prompt < 1 || request.limit < request.prompt)
    throw std::invalid_argument("request " + std::to_string(request.id) +
                                ": a prompt of at least one token and a limit no shorter");
  auto s = std::make_unique<SeqState>(request);
  s->generated = s->cached = s->blocks = 0;
  s->running = s->in_flight = false;
  s->pool = pool_for(*s);
  if (blocks_for(s->limit) > pool_blocks(s->pool))
    throw std::invalid_argument(
        "request " + std::to_string(s->id) + " may need " + std::to_string(blocks_for(s->limit)) +
        " KV blocks, " + (free_.size() > 1 ? "a virtual engine's share has " : "the cache has ") +
        std::to_string(pool_blocks(s->pool)));
  on_add(*s);
  waiting_.push_back(std::move(s));
}

bool Scheduler::may_admit(std::uint64_t preemptions_before) const {
  return stats_.preemptions == preemptions_before &&
         running_.size() < std::size_t(config_.stages) * std::size_t(config_.max_batch_seqs);
}

std::optional<Plan> Scheduler::next() {
  Plan p;
  if (!idle()) plan(p);
  if (p.chunks.empty()) return std::nullopt;
  p.preempted = std::move(preempted_);
  preempted_.clear();
  ++in_flight_;
  ++stats_.batches;
  for (const auto& c : p.chunks)
    (c.start == 0 || c.count > 1 ? stats_.prefill_tokens : stats_.decode_tokens) +=
        std::uint64_t(c.count);
  return p;
}

std::vector<std::uint64_t> Scheduler::complete(const Plan& plan,
                                               const std::vector<bool>& finished) {
  if (finished.size() != plan.chunks.size())
    throw std::logic_error("complete(): one finished flag per chunk");
  --in_flight_;
  ++completed_;
  std::vector<SeqState*> ended;
  for (std::size_t i = 0; i < plan.chunks.size(); ++i) {
    const PlannedChunk& c = plan.chunks[i];
    SeqState& s = *c.seq;
    bool samples = c.samples();
    s.in_flight = false;
    s.returned = completed_;
    if (!samples) continue;
    if (finished[i])
      ended.push_back(&s);
    else
      ++s.generated;
  }
  on_complete(plan);
  std::vector<std::uint64_t> ids;
  for (SeqState* s : ended) {
    ids.push_back(s->id);
    free_[std::size_t(s->pool)] += s->blocks;
    on_finish(*s);
    auto it =
        std::find_if(running_.begin(), running_.end(), [&](const auto& r) { return r.get() == s; });
    if (it == running_.end()) throw std::logic_error("a finished sequence was not running");
    running_.erase(it);
  }
  return ids;
}

bool Scheduler::reserve(SeqState& s, int positions) {
  int need = blocks_for(positions) - s.blocks;
  if (need <= 0) return true;
  int& free = free_[std::size_t(s.pool)];
  if (need > free) return false;
  free -= need;
  s.blocks += need;
  return true;
}

bool Scheduler::preempt_latest(int pool) {
  for (auto it = running_.rbegin(); it != running_.rend(); ++it) {
    SeqState& v = **it;
    if (v.pool != pool || v.in_flight) continue;
    free_[std::size_t(pool)] += v.blocks;
    v.blocks = v.cached = 0;
    v.running = false;
    preempted_.push_back(v.id);
    ++stats_.preemptions;
    auto owned = std::next(it).base();
    waiting_.push_front(std::move(*owned));
    running_.erase(owned);
    return true;
  }
  return false;
}

void Scheduler::add_chunk(Plan& plan, SeqState& s, int count) {
  plan.chunks.push_back({&s, s.cached, count});
  s.cached += count;
  s.in_flight = true;
}

bool Scheduler::add_decode(Plan& plan, SeqState& s) {
  while (!reserve(s, s.length())) {
    if (!preempt_latest(s.pool)) return false;
    if (!s.running) return false;  // it was the latest itself
  }
  add_chunk(plan, s, s.length() - s.cached);
  return true;
}

bool Scheduler::admit(Plan& plan, std::size_t at, int count) {
  SeqState& s = *waiting_[at];
  if (!reserve(s, s.length())) return false;
  s.running = true;
  s.admitted = next_admission_++;
  running_.push_back(std::move(waiting_[at]));
  waiting_.erase(waiting_.begin() + long(at));
  add_chunk(plan, s, count > 0 ? std::min(count, s.length()) : s.length());
  return true;
}

void Scheduler::add_prefill(Plan& plan, SeqState& s, int count) {
  add_chunk(plan, s, std::min(count, s.length() - s.cached));
}

void Scheduler::add_decodes_then_prefills(Plan& plan, const std::vector<SeqState*>& candidates,
                                          int& budget, int& seqs) {
  for (SeqState* s : candidates) {  // decodes first
    if (budget < 1 || seqs >= config_.max_batch_seqs) break;
    if (!s->running || s->in_flight || !s->prefilled()) continue;
    if (add_decode(plan, *s)) {
      --budget;
      ++seqs;
    }
  }
  for (SeqState* s : candidates) {  // then prefills under way
    if (budget < 1 || seqs >= config_.max_batch_seqs) break;
    if (!s->running || s->in_flight || s->prefilled()) continue;
    int before = s->cached;
    add_prefill(plan, *s, budget);
    budget -= s->cached - before;
    ++seqs;
  }
}

std::vector<SeqState*> Scheduler::running_list() const {
  std::vector<SeqState*> out;
  out.reserve(running_.size());
  for (const auto& s : running_) out.push_back(s.get());
  return out;
}

}  // namespace tdpipe
