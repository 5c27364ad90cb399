// SPDX-License-Identifier: GPL-2.0-or-later
#include "model/weights.h"

#include <stdexcept>

namespace tdpipe {

std::uint64_t ModelConfig::parameters() const {
  std::uint64_t d = dim, h = hidden_dim, kv = static_cast<std::uint64_t>(kv_dim());
  std::uint64_t per_layer = 2 * d + 2 * d * d + 2 * kv * d + 3 * d * h;
  return std::uint64_t(vocab_size) * d * (shared_classifier ? 1 : 2) + n_layers * per_layer + d;
}

std::string ModelConfig::problem() const {
  auto positive = [](int v) { return v > 0 && v < (1 << 24); };
  if (!positive(dim) || !positive(hidden_dim) || !positive(n_layers) || !positive(n_heads) ||
      !positive(n_kv_heads) || !positive(vocab_size) || !positive(seq_len))
    return "every dimension must be positive and below 2^24";
  if (dim % n_heads) return "dim " + std::to_string(dim) + " is not a multiple of n_heads";
  if (head_size() % 2) return "the head size must be even (RoPE rotates pairs)";
  if (n_heads % n_kv_heads) return "n_heads is not a multiple of n_kv_heads";
  return {};
}

Weights Weights::zeros(const ModelConfig& c) {
  if (auto p = c.problem(); !p.empty()) throw std::invalid_argument("model shape: " + p);
  std::size_t d = c.dim, h = c.hidden_dim, kv = c.kv_dim(), v = c.vocab_size;
  Weights w;
  w.config = c;
  w.token_embedding.assign(v * d, 0.0f);
  w.layers.resize(c.n_layers);
  for (auto& l : w.layers) {
    l.attention_norm.assign(d, 0.0f);
    l.wq.assign(d * d, 0.0f);
    l.wk.assign(kv * d, 0.0f);
    l.wv.assign(kv * d, 0.0f);
    l.wo.assign(d * d, 0.0f);
    l.ffn_norm.assign(d, 0.0f);
    l.w1.assign(h * d, 0.0f);
    l.w2.assign(d * h, 0.0f);
    l.w3.assign(h * d, 0.0f);
  }
  w.final_norm.assign(d, 0.0f);
  if (!c.shared_classifier) w.classifier.assign(v * d, 0.0f);
  return w;
}

}  // namespace tdpipe
