// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/engine/reference.h"

#include "tdpipe/engine/dot.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace tdpipe {

void rmsnorm(float* out, const float* x, const float* weight, int n, float eps) {
  float ss = 0;
  for (int i = 0; i < n; ++i) ss += x[i] * x[i];
  ss = 1.0f / std::sqrt(ss / float(n) + eps);
  for (int i = 0; i < n; ++i) out[i] = weight[i] * (ss * x[i]);
}

void matmul(float* out, const float* x, const float* w, int cols, int rows) {
  for (int r = 0; r < rows; ++r) out[r] = dot(w + std::size_t(r) * cols, x, cols);
}

void rope(float* vec, int n, int head_size, int pos, float theta) {
  for (int i = 0; i < n; i += 2) {
    int within_head = i % head_size;
    float freq = 1.0f / std::pow(theta, float(within_head) / float(head_size));
    float angle = float(pos) * freq, c = std::cos(angle), s = std::sin(angle);
    float v0 = vec[i], v1 = vec[i + 1];
    vec[i] = v0 * c - v1 * s;
    vec[i + 1] = v0 * s + v1 * c;
  }
}

void softmax(float* x, int n) {
  float most = *std::max_element(x, x + n), sum = 0;
  for (int i = 0; i < n; ++i) sum += (x[i] = std::exp(x[i] - most));
  for (int i = 0; i < n; ++i) x[i] /= sum;
}

ReferenceModel::ReferenceModel(const Weights& weights) : w_(weights) {
  const ModelConfig& c = w_.config;
  if (!w_.holds_all()) throw std::invalid_argument("the reference runs whole models only");
  x_.resize(c.dim);
  xb_.resize(c.dim);
  xb2_.resize(c.dim);
  hb_.resize(c.hidden_dim);
  hb2_.resize(c.hidden_dim);
  q_.resize(c.dim);
  k_.resize(c.kv_dim());
  v_.resize(c.kv_dim());
  att_.resize(c.seq_len);
  logits_.resize(c.vocab_size);
  key_cache_.resize(std::size_t(c.n_layers) * c.seq_len * c.kv_dim());
  value_cache_.resize(key_cache_.size());
}

std::span<const float> ReferenceModel::forward(int token, int pos) {
  const ModelConfig& c = w_.config;
  if (token < 0 || token >= c.vocab_size)
    throw std::out_of_range("token " + std::to_string(token) + " outside the vocabulary of " +
                            std::to_string(c.vocab_size));
  if (pos < 0 || pos >= c.seq_len)
    throw std::out_of_range("position " + std::to_string(pos) + " beyond the model's " +
                            std::to_string(c.seq_len));
  const int dim = c.dim, kv_dim = c.kv_dim(), hs = c.head_size(), hidden = c.hidden_dim;
  std::copy_n(w_.token_embedding.data() + std::size_t(token) * dim, dim, x_.data());
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& L = w_.layers[l];
    rmsnorm(xb_.data(), x_.data(), L.attention_norm.data(), dim, c.norm_eps);
    matmul(q_.data(), xb_.data(), L.wq.data(), dim, dim);
    matmul(k_.data(), xb_.data(), L.wk.data(), dim, kv_dim);
    matmul(v_.data(), xb_.data(), L.wv.data(), dim, kv_dim);
    rope(q_.data(), dim, hs, pos, c.rope_theta);
    rope(k_.data(), kv_dim, hs, pos, c.rope_theta);
    std::size_t layer_base = std::size_t(l) * c.seq_len * kv_dim;
    std::copy(k_.begin(), k_.end(),
              key_cache_.begin() + long(layer_base + std::size_t(pos) * kv_dim));
    std::copy(v_.begin(), v_.end(),
              value_cache_.begin() + long(layer_base + std::size_t(pos) * kv_dim));
    for (int h = 0; h < c.n_heads; ++h) {
      const float* q = q_.data() + h * hs;
      int kv_head = h / c.kv_group();
      for (int t = 0; t <= pos; ++t) {
        const float* k = key_cache_.data() + layer_base + std::size_t(t) * kv_dim + kv_head * hs;
        float score = 0;
        for (int i = 0; i < hs; ++i) score += q[i] * k[i];
        att_[t] = score / std::sqrt(float(hs));
      }
      softmax(att_.data(), pos + 1);
      float* out = xb_.data() + h * hs;
      std::fill(out, out + hs, 0.0f);
      for (int t = 0; t <= pos; ++t) {
        const float* v = value_cache_.data() + layer_base + std::size_t(t) * kv_dim + kv_head * hs;
        for (int i = 0; i < hs; ++i) out[i] += att_[t] * v[i];
      }
    }
    matmul(xb2_.data(), xb_.data(), L.wo.data(), dim, dim);
    for (int i = 0; i < dim; ++i) x_[i] += xb2_[i];
    rmsnorm(xb_.data(), x_.data(), L.ffn_norm.data(), dim, c.norm_eps);
    matmul(hb_.data(), xb_.data(), L.w1.data(), dim, hidden);
    matmul(hb2_.data(), xb_.data(), L.w3.data(), dim, hidden);
    for (int i = 0; i < hidden; ++i) {
      float g = hb_[i];
      hb_[i] = g / (1.0f + std::exp(-g)) * hb2_[i];  // SwiGLU: silu(gate) * up
    }
    matmul(xb_.data(), hb_.data(), L.w2.data(), hidden, dim);
    for (int i = 0; i < dim; ++i) x_[i] += xb_[i];
  }
  rmsnorm(x_.data(), x_.data(), w_.final_norm.data(), dim, c.norm_eps);
  matmul(logits_.data(), x_.data(), w_.output_matrix().data(), dim, c.vocab_size);
  return logits_;
}

}  // namespace tdpipe
