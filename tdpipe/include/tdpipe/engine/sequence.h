// SPDX-License-Identifier: GPL-2.0-or-later
//
// A request as the engine tracks it beside the scheduler's SeqState
// (request_table.h): its sampler, what it generated and its KV block
// table; and the rules for admitting a request and for ending it.
#pragma once

#include "tdpipe/engine/generate.h"
#include "tdpipe/engine/kv_cache.h"

#include <cstdint>
#include <span>
#include <vector>

namespace tdpipe {

struct Sequence {
  std::uint64_t id;
  Request request;
  Sampler sampler;
  Completion completion;
  std::vector<int> table;  // KV blocks
  bool done = false;

  Sequence(std::uint64_t id, Request request)
      : id(id), request(std::move(request)), sampler(this->request.sampling) {}

  // Everything fed so far or to feed: the prompt, then generated tokens
  // (all of them again after a preemption).
  int length() const { return int(request.prompt.size() + completion.tokens.size()); }
  int token_at(int pos) const {
    int p = int(request.prompt.size());
    return pos < p ? request.prompt[pos] : completion.tokens[pos - p];
  }

  // Samples the next token from the logits of the sequence's last position
  // and decides whether it is done (as generate() does).
  void take_next(std::span<const float> logits, const ModelConfig& config);
};

// Throws std::invalid_argument for a request the model cannot take or
// that could never fit a cache of `blocks` blocks.
void check_admissible(std::uint64_t id, const Request& request, const ModelConfig& config,
                      int blocks);

}  // namespace tdpipe
