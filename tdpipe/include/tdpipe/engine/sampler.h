// SPDX-License-Identifier: GPL-2.0-or-later
//
// Choosing the next token from logits: greedy (the largest logit, the
// lowest id on ties) or sampled at a temperature from a seeded generator
// whose sequence is fixed by its definition (xorshift64*), so a seed
// reproduces a run on any machine.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace tdpipe {

struct Sampling {
  float temperature = 0.0f;  // 0: greedy
  std::uint64_t seed = 1;
};

class Sampler {
 public:
  explicit Sampler(Sampling sampling);
  int next(std::span<const float> logits);

 private:
  double uniform();  // [0, 1)

  Sampling sampling_;
  std::uint64_t state_;
  std::vector<float> probabilities_;
};

int argmax(std::span<const float> logits);

}  // namespace tdpipe
