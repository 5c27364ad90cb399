// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/model/synthetic.h"

#include <cmath>

namespace tdpipe {
namespace {

// splitmix64: a tiny generator whose sequence is fixed by its definition,
// unlike the standard distributions.
struct Random {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  float uniform() { return float((next() >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f; }  // [-1, 1)
};

void fill(std::vector<float>& t, Random& r, float scale, float offset = 0.0f) {
  for (float& x : t) x = offset + scale * r.uniform();
}

}  // namespace

Weights synthetic_weights(const ModelConfig& c, std::uint64_t seed) {
  Weights w = Weights::zeros(c);
  Random r{seed};
  float in_dim = 1.0f / std::sqrt(float(c.dim)), in_hidden = 1.0f / std::sqrt(float(c.hidden_dim));
  fill(w.token_embedding, r, 1.0f);
  for (auto& l : w.layers) {
    fill(l.attention_norm, r, 0.1f, 1.0f);
    fill(l.wq, r, in_dim);
    fill(l.wk, r, in_dim);
    fill(l.wv, r, in_dim);
    fill(l.wo, r, in_dim);
    fill(l.ffn_norm, r, 0.1f, 1.0f);
    fill(l.w1, r, in_dim);
    fill(l.w2, r, in_hidden);
    fill(l.w3, r, in_dim);
  }
  fill(w.final_norm, r, 0.1f, 1.0f);
  if (!c.shared_classifier) fill(w.classifier, r, in_dim);
  return w;
}

}  // namespace tdpipe
