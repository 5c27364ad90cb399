// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/engine/sampler.h"

#include "tdpipe/engine/reference.h"

#include <stdexcept>

namespace tdpipe {

int argmax(std::span<const float> logits) {
  int best = 0;
  for (int i = 1; i < int(logits.size()); ++i)
    if (logits[i] > logits[best]) best = i;
  return best;
}

Sampler::Sampler(Sampling sampling)
    : sampling_(sampling), state_(sampling.seed ? sampling.seed : 1) {
  if (!(sampling.temperature >= 0.0f))
    throw std::invalid_argument("the temperature must be 0 (greedy) or positive");
}

double Sampler::uniform() {
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  return double((state_ * 0x2545F4914F6CDD1DULL) >> 11) * (1.0 / 9007199254740992.0);
}

int Sampler::next(std::span<const float> logits) {
  if (sampling_.temperature == 0.0f) return argmax(logits);
  probabilities_.assign(logits.begin(), logits.end());
  for (float& p : probabilities_) p /= sampling_.temperature;
  softmax(probabilities_.data(), int(probabilities_.size()));
  double draw = uniform(), cumulative = 0;
  for (int i = 0; i < int(probabilities_.size()); ++i) {
    cumulative += probabilities_[i];
    if (draw < cumulative) return i;
  }
  return int(probabilities_.size()) - 1;  // rounding left the draw past the end
}

}  // namespace tdpipe
