// SPDX-License-Identifier: GPL-2.0-or-later
#include "engine/runner.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace tdpipe {

Runner::Runner(const Weights& weights, RunnerOptions options)
    : model_(weights, 0, weights.config.n_layers, options.kv_blocks), options_(options) {
  if (options.step_tokens < 1) throw std::invalid_argument("step_tokens must be at least 1");
}

void Runner::submit(std::uint64_t id, const Request& request) {
  check_admissible(id, request, model_.config(), model_.cache().total_blocks());
  waiting_.push_back(std::make_unique<Sequence>(id, request));
}

void Runner::preempt(Sequence& s) {
  model_.cache().release(s.table);
  s.cached = 0;
  ++stats_.preemptions;
}

void Runner::step() {
  // 1. Room for one more position of every running sequence, preempting
  //    the latest admitted ones while there is not.
  for (std::size_t i = 0; i < running_.size();) {
    Sequence& s = *running_[i];
    if (model_.cache().reserve(s.table, s.length())) {
      ++i;
      continue;
    }
    Sequence& victim = *running_.back();
    preempt(victim);
    waiting_.push_front(std::move(running_.back()));
    running_.pop_back();
    if (&victim == &s) continue;  // it was the one that needed room
  }
  // 2. Admit waiting sequences while blocks and the token budget allow.
  int budget = options_.step_tokens - int(running_.size());
  std::vector<Sequence*> admitted;
  while (!waiting_.empty()) {
    Sequence& s = *waiting_.front();
    int tokens = s.length();  // prompt, and generated tokens being recomputed
    if (tokens > budget && !(running_.empty() && admitted.empty())) break;
    if (!model_.cache().reserve(s.table, tokens)) break;
    budget -= tokens;
    admitted.push_back(&s);
    running_.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
  }
  // 3. One batch: prefills of the admitted, a decode token for the others.
  std::vector<Chunk> chunks;
  std::vector<int> tokens;
  std::vector<Sequence*> order;
  for (auto& owned : running_) {
    Sequence& s = *owned;
    int from = s.cached, to = s.length();
    chunks.push_back({&s.table, from, to - from});
    for (int p = from; p < to; ++p) tokens.push_back(s.token_at(p));
    (from == 0 ? stats_.prefill_tokens : stats_.decode_tokens) += std::uint64_t(to - from);
    s.cached = to;
    order.push_back(&s);
  }
  if (chunks.empty()) return;
  std::vector<float> x;
  model_.embed(tokens, x);
  model_.forward(chunks, x);
  std::vector<float> logits = model_.logits(chunks, x);
  ++stats_.steps;
  const int vocab = model_.config().vocab_size;
  for (std::size_t i = 0; i < order.size(); ++i)
    order[i]->take_next(std::span<const float>(logits.data() + i * std::size_t(vocab), vocab),
                        model_.config());
  // 4. Finished sequences leave and free their blocks.
  for (std::size_t i = 0; i < running_.size();) {
    if (!running_[i]->done) {
      ++i;
      continue;
    }
    model_.cache().release(running_[i]->table);
    finished_[running_[i]->id] = std::move(running_[i]->completion);
    running_.erase(running_.begin() + long(i));
  }
}

std::map<std::uint64_t, Completion> Runner::run() {
  while (!waiting_.empty() || !running_.empty()) {
    std::size_t before = finished_.size() + running_.size() + waiting_.size();
    step();
    if (finished_.size() + running_.size() + waiting_.size() != before)
      throw std::logic_error("a request was lost");
  }
  return std::move(finished_);
}

}  // namespace tdpipe
