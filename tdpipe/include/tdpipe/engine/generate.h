// SPDX-License-Identifier: GPL-2.0-or-later
//
// One request through the reference model: feed the prompt, then sample
// until the request's maximum, the end-of-sequence token (not returned,
// unless ignore_eos asks to run on past it, as throughput benchmarks need)
// or the model's sequence length (prompt and completion together).
#pragma once

#include "tdpipe/engine/reference.h"
#include "tdpipe/engine/sampler.h"

#include <string>
#include <vector>

namespace tdpipe {

struct Request {
  std::vector<int> prompt;
  int max_tokens = 16;
  int eos = -1;  // none
  bool ignore_eos = false;
  Sampling sampling;
};

struct Completion {
  std::vector<int> tokens;
  std::string finish_reason;  // "stop" (EOS), "length" (max_tokens or the model's seq_len)
};

// Throws std::invalid_argument for an empty prompt, a token outside the
// vocabulary or a prompt the model cannot hold.
void validate(const Request& request, const ModelConfig& config);

Completion generate(ReferenceModel& model, const Request& request);

}  // namespace tdpipe
