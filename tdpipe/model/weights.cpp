// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/model/weights.h"

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
  return zeros(c, 0, c.n_layers);
}

Weights Weights::zeros(const ModelConfig& c, int first, int last) {
  if (auto p = c.problem(); !p.empty()) throw std::invalid_argument("model shape: " + p);
  if (first < 0 || last > c.n_layers || first >= last)
    throw std::invalid_argument("layers [" + std::to_string(first) + ", " + std::to_string(last) +
                                ") of a model of " + std::to_string(c.n_layers));
  std::size_t d = c.dim, h = c.hidden_dim, kv = c.kv_dim(), v = c.vocab_size;
  const bool head = first == 0, tail = last == c.n_layers;
  Weights w;
  w.config = c;
  w.first_layer = first;
  w.last_layer = last;
  if (head || (tail && c.shared_classifier)) w.token_embedding.assign(v * d, 0.0f);
  w.layers.resize(c.n_layers);
  for (int i = first; i < last; ++i) {
    LayerWeights& l = w.layers[std::size_t(i)];
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
  if (tail) w.final_norm.assign(d, 0.0f);
  if (tail && !c.shared_classifier) w.classifier.assign(v * d, 0.0f);
  return w;
}

std::string Weights::missing_for(int first, int last) const {
  if (first < first_layer || last > last_layer)
    return "the weights hold layers [" + std::to_string(first_layer) + ", " +
           std::to_string(last_layer) + "), the stage runs [" + std::to_string(first) + ", " +
           std::to_string(last) + ")";
  if (first == 0 && token_embedding.empty()) return "the first stage needs the token embedding";
  if (last == config.n_layers && (final_norm.empty() || output_matrix().empty()))
    return "the last stage needs the final norm and the classifier";
  return {};
}

}  // namespace tdpipe
