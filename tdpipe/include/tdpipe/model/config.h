// SPDX-License-Identifier: GPL-2.0-or-later
//
// The shape of a Llama-architecture decoder: what a checkpoint's header
// says and everything derived from it.
#pragma once

#include <cstdint>
#include <string>

namespace tdpipe {

struct ModelConfig {
  int dim = 0;         // width of the residual stream
  int hidden_dim = 0;  // SwiGLU's inner width
  int n_layers = 0;
  int n_heads = 0;     // query heads
  int n_kv_heads = 0;  // key/value heads (grouped-query attention: n_heads is a multiple)
  int vocab_size = 0;
  int seq_len = 0;                // longest sequence the model handles
  bool shared_classifier = true;  // the output layer reuses the token embeddings
  float rope_theta = 10000.0f;
  float norm_eps = 1e-5f;

  int head_size() const { return dim / n_heads; }
  int kv_dim() const { return head_size() * n_kv_heads; }
  int kv_group() const { return n_heads / n_kv_heads; }  // query heads per kv head
  std::uint64_t parameters() const;

  // Empty if the shape is usable, else what is wrong with it.
  std::string problem() const;
};

}  // namespace tdpipe
