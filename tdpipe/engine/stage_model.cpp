// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/engine/stage_model.h"

#include "tdpipe/engine/dot.h"
#include "tdpipe/engine/reference.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace tdpipe {

void matmul_batch(float* out, const float* x, const float* w, int tokens, int cols, int rows) {
  auto row_products = [&](int r) {
    const float* row = w + std::size_t(r) * cols;
    for (int t = 0; t < tokens; ++t)  // the reference's matmul, row by row
      out[std::size_t(t) * rows + r] = dot(row, x + std::size_t(t) * cols, cols);
  };
  // Threads only where there is enough work to pay for waking them.
  if (std::int64_t(tokens) * cols * rows < (1 << 16)) {
    for (int r = 0; r < rows; ++r) row_products(r);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) row_products(r);
}

StageModel::StageModel(const Weights& weights, int first_layer, int last_layer, int kv_blocks)
    : weights_(weights),
      first_layer_(first_layer),
      last_layer_(last_layer),
      cache_(weights.config, kv_blocks, first_layer, last_layer - first_layer) {
  if (first_layer < 0 || last_layer > weights.config.n_layers || first_layer >= last_layer)
    throw std::invalid_argument("stage layers [" + std::to_string(first_layer) + ", " +
                                std::to_string(last_layer) + ") of a model of " +
                                std::to_string(weights.config.n_layers));
  if (auto missing = weights.missing_for(first_layer, last_layer); !missing.empty())
    throw std::invalid_argument(missing);
}

void StageModel::embed(const std::vector<int>& tokens, std::vector<float>& x) const {
  const int dim = config().dim;
  x.resize(tokens.size() * std::size_t(dim));
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= config().vocab_size)
      throw std::out_of_range("token " + std::to_string(tokens[i]) + " outside the vocabulary");
    std::copy_n(weights_.token_embedding.data() + std::size_t(tokens[i]) * dim, dim,
                x.data() + i * dim);
  }
}

void StageModel::forward(const std::vector<Chunk>& chunks, std::vector<float>& x) {
  const ModelConfig& c = config();
  const int dim = c.dim, kv_dim = c.kv_dim(), hs = c.head_size(), hidden = c.hidden_dim;
  int n = 0;
  for (const Chunk& ch : chunks) n += ch.count;
  if (x.size() != std::size_t(n) * dim)
    throw std::invalid_argument("activations do not match the chunks");
  xb_.resize(std::size_t(n) * dim);
  q_.resize(std::size_t(n) * dim);
  k_.resize(std::size_t(n) * kv_dim);
  v_.resize(std::size_t(n) * kv_dim);
  att_out_.resize(std::size_t(n) * dim);
  proj_.resize(std::size_t(n) * dim);
  hb_.resize(std::size_t(n) * hidden);
  hb2_.resize(std::size_t(n) * hidden);
  att_.resize(std::size_t(c.seq_len));
  // Each token's sequence and position.
  std::vector<const Chunk*> owner(n);
  std::vector<int> position(n);
  std::int64_t attended = 0;  // attention's work, to decide whether threads pay
  for (int t = 0; const Chunk& ch : chunks)
    for (int i = 0; i < ch.count; ++i, ++t) {
      owner[t] = &ch, position[t] = ch.start + i;
      attended += std::int64_t(position[t] + 1) * dim;
    }
  const bool parallel_attention = attended >= (1 << 16);

  for (int l = first_layer_; l < last_layer_; ++l) {
    const LayerWeights& L = weights_.layers[l];
    for (int t = 0; t < n; ++t)
      rmsnorm(xb_.data() + std::size_t(t) * dim, x.data() + std::size_t(t) * dim,
              L.attention_norm.data(), dim, c.norm_eps);
    matmul_batch(q_.data(), xb_.data(), L.wq.data(), n, dim, dim);
    matmul_batch(k_.data(), xb_.data(), L.wk.data(), n, dim, kv_dim);
    matmul_batch(v_.data(), xb_.data(), L.wv.data(), n, dim, kv_dim);
    for (int t = 0; t < n; ++t) {
      rope(q_.data() + std::size_t(t) * dim, dim, hs, position[t], c.rope_theta);
      rope(k_.data() + std::size_t(t) * kv_dim, kv_dim, hs, position[t], c.rope_theta);
      std::copy_n(k_.data() + std::size_t(t) * kv_dim, kv_dim,
                  cache_.key(*owner[t]->table, l, position[t]));
      std::copy_n(v_.data() + std::size_t(t) * kv_dim, kv_dim,
                  cache_.value(*owner[t]->table, l, position[t]));
    }
    // Attention: each token over its own sequence's positions 0 .. its own.
    auto attend = [&](int th, std::vector<float>& att) {
      int t = th / c.n_heads, h = th % c.n_heads, pos = position[t];
      const std::vector<int>& table = *owner[t]->table;
      const float* q = q_.data() + std::size_t(t) * dim + h * hs;
      int kv_head = h / c.kv_group();
      for (int p = 0; p <= pos; ++p) {
        const float* k = cache_.key(table, l, p) + kv_head * hs;
        float score = 0;
        for (int i = 0; i < hs; ++i) score += q[i] * k[i];
        att[p] = score / std::sqrt(float(hs));
      }
      softmax(att.data(), pos + 1);
      float* out = att_out_.data() + std::size_t(t) * dim + h * hs;
      std::fill(out, out + hs, 0.0f);
      for (int p = 0; p <= pos; ++p) {
        const float* v = cache_.value(table, l, p) + kv_head * hs;
        for (int i = 0; i < hs; ++i) out[i] += att[p] * v[i];
      }
    };
    if (!parallel_attention) {
      for (int th = 0; th < n * c.n_heads; ++th) attend(th, att_);
    } else {
#pragma omp parallel
      {
        std::vector<float> att(c.seq_len);
#pragma omp for schedule(dynamic)
        for (int th = 0; th < n * c.n_heads; ++th) attend(th, att);
      }
    }
    matmul_batch(proj_.data(), att_out_.data(), L.wo.data(), n, dim, dim);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += proj_[i];
    for (int t = 0; t < n; ++t)
      rmsnorm(xb_.data() + std::size_t(t) * dim, x.data() + std::size_t(t) * dim, L.ffn_norm.data(),
              dim, c.norm_eps);
    matmul_batch(hb_.data(), xb_.data(), L.w1.data(), n, dim, hidden);
    matmul_batch(hb2_.data(), xb_.data(), L.w3.data(), n, dim, hidden);
    for (std::size_t i = 0; i < hb_.size(); ++i) {
      float g = hb_[i];
      hb_[i] = g / (1.0f + std::exp(-g)) * hb2_[i];
    }
    matmul_batch(proj_.data(), hb_.data(), L.w2.data(), n, hidden, dim);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += proj_[i];
  }
}

std::vector<float> StageModel::logits(const std::vector<Chunk>& chunks,
                                      const std::vector<float>& x) const {
  const ModelConfig& c = config();
  std::vector<float> last(chunks.size() * std::size_t(c.dim));
  for (std::size_t i = 0, t = 0; i < chunks.size(); ++i) {
    t += std::size_t(chunks[i].count);
    rmsnorm(last.data() + i * c.dim, x.data() + (t - 1) * c.dim, weights_.final_norm.data(), c.dim,
            c.norm_eps);
  }
  std::vector<float> out(chunks.size() * std::size_t(c.vocab_size));
  matmul_batch(out.data(), last.data(), weights_.output_matrix().data(), int(chunks.size()), c.dim,
               c.vocab_size);
  return out;
}

}  // namespace tdpipe
