// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/engine/sequence.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace tdpipe {

void Sequence::take_next(std::span<const float> logits, const ModelConfig& config) {
  int next = sampler.next(logits);
  if (next == request.eos && !request.ignore_eos) {
    completion.finish_reason = "stop";
    done = true;
    return;
  }
  completion.tokens.push_back(next);
  if (int(completion.tokens.size()) >= request.max_tokens || length() >= config.seq_len) {
    completion.finish_reason = "length";
    done = true;
  }
}

void check_admissible(std::uint64_t id, const Request& request, const ModelConfig& config,
                      int blocks) {
  validate(request, config);
  int longest = std::min<int>(config.seq_len, int(request.prompt.size()) + request.max_tokens);
  if (blocks_for(longest) > blocks)
    throw std::invalid_argument("request " + std::to_string(id) + " may need " +
                                std::to_string(blocks_for(longest)) + " KV blocks, the cache has " +
                                std::to_string(blocks));
}

}  // namespace tdpipe
