// SPDX-License-Identifier: GPL-2.0-or-later
//
// The straightforward single-process implementation of the Llama decoder,
// one token at a time with a contiguous KV cache, as llama2.c's run.c
// computes it: RMSNorm, RoPE on interleaved pairs, grouped-query attention,
// SwiGLU, a final norm and the classifier. It is the reference every other
// engine here must match token for token under greedy decoding.
#pragma once

#include "tdpipe/model/weights.h"

#include <span>
#include <vector>

namespace tdpipe {

class ReferenceModel {
 public:
  explicit ReferenceModel(const Weights& weights);  // keeps a reference

  // The logits after `token` at position `pos`; positions 0 .. pos-1 of
  // the same sequence must have been fed before (they fill the KV cache).
  std::span<const float> forward(int token, int pos);

  const ModelConfig& config() const { return w_.config; }

 private:
  const Weights& w_;
  std::vector<float> x_, xb_, xb2_, hb_, hb2_, q_, k_, v_, att_, logits_;
  std::vector<float> key_cache_, value_cache_;  // layer x seq_len x kv_dim
};

// Shared by every engine: the numerics of one step.
void rmsnorm(float* out, const float* x, const float* weight, int n, float eps);
void matmul(float* out, const float* x, const float* w, int cols, int rows);  // out = W x
void rope(float* vec, int n, int head_size, int pos, float theta);            // in place, pairs
void softmax(float* x, int n);

}  // namespace tdpipe
