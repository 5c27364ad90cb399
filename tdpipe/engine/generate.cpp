// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/engine/generate.h"

#include <stdexcept>

namespace tdpipe {

void validate(const Request& r, const ModelConfig& c) {
  if (r.prompt.empty()) throw std::invalid_argument("the prompt is empty");
  for (int t : r.prompt)
    if (t < 0 || t >= c.vocab_size)
      throw std::invalid_argument("prompt token " + std::to_string(t) +
                                  " is outside the vocabulary (0.." +
                                  std::to_string(c.vocab_size - 1) + ")");
  if (int(r.prompt.size()) >= c.seq_len)
    throw std::invalid_argument("a prompt of " + std::to_string(r.prompt.size()) +
                                " tokens leaves no room in the model's " +
                                std::to_string(c.seq_len));
  if (r.max_tokens < 1) throw std::invalid_argument("max_tokens must be at least 1");
}

Completion generate(ReferenceModel& model, const Request& r) {
  validate(r, model.config());
  Sampler sampler(r.sampling);
  Completion out;
  int pos = 0;
  std::span<const float> logits;
  for (int t : r.prompt) logits = model.forward(t, pos++);
  while (true) {
    int next = sampler.next(logits);
    if (next == r.eos && !r.ignore_eos) {
      out.finish_reason = "stop";
      return out;
    }
    out.tokens.push_back(next);
    // The whole sequence, prompt and completion, fits the model's length.
    if (int(out.tokens.size()) >= r.max_tokens ||
        int(r.prompt.size() + out.tokens.size()) >= model.config().seq_len) {
      out.finish_reason = "length";
      return out;
    }
    logits = model.forward(next, pos++);
  }
}

}  // namespace tdpipe
