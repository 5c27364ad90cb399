// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/engine/request_table.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace tdpipe {

SeqState RequestTable::add(std::uint64_t id, const Request& request, int blocks, int predicted) {
  check_admissible(id, request, config_, blocks);
  if (sequences_.count(id) || finished_.count(id))
    throw std::invalid_argument("request " + std::to_string(id) + " was already submitted");
  sequences_.emplace(id, Sequence(id, request));
  SeqState s;
  s.id = id;
  s.prompt = int(request.prompt.size());
  s.limit = std::min(config_.seq_len, s.prompt + request.max_tokens);
  s.predicted = predicted;
  return s;
}

void RequestTable::submit(Scheduler& scheduler, std::uint64_t id, const Request& request,
                          int blocks, int predicted) {
  SeqState s = add(id, request, blocks, predicted);
  try {
    scheduler.add(s);
  } catch (...) {
    forget(id);
    throw;
  }
}

RequestTable::Inputs RequestTable::prepare(const Plan& plan) {
  for (std::uint64_t id : plan.preempted) {
    auto it = sequences_.find(id);
    if (it != sequences_.end()) cache_.release(it->second.table);
  }
  Inputs in;
  for (const PlannedChunk& c : plan.chunks) {
    Sequence& s = sequences_.at(c.seq->id);
    if (!cache_.reserve(s.table, c.seq->length()))
      throw std::logic_error("the scheduler planned blocks the cache does not have");
    in.chunks.push_back({&s.table, c.start, c.count});
    for (int p = c.start; p < c.start + c.count; ++p) in.tokens.push_back(s.token_at(p));
  }
  return in;
}

std::vector<bool> RequestTable::sample(const Plan& plan, const float* logits) {
  std::vector<bool> ended(plan.chunks.size(), false);
  const std::size_t vocab = std::size_t(config_.vocab_size);
  for (std::size_t i = 0; i < plan.chunks.size(); ++i) {
    if (!plan.chunks[i].samples()) continue;
    Sequence& s = sequences_.at(plan.chunks[i].seq->id);
    const std::size_t before = s.completion.tokens.size();
    s.take_next(std::span<const float>(logits + i * vocab, vocab), config_);
    ended[i] = s.done;
    if (on_token && s.completion.tokens.size() > before) on_token(s.id, s.completion.tokens.back());
  }
  return ended;
}

void RequestTable::finish(const std::vector<std::uint64_t>& ids) {
  for (std::uint64_t id : ids) {
    auto it = sequences_.find(id);
    if (it == sequences_.end()) throw std::logic_error("an unknown sequence finished");
    cache_.release(it->second.table);
    if (on_finished)
      on_finished(id, std::move(it->second.completion));
    else
      finished_[id] = std::move(it->second.completion);
    sequences_.erase(it);
  }
}

}  // namespace tdpipe
