// SPDX-License-Identifier: GPL-2.0-or-later
//
// What the simulator knows about models and machines: the Llama-2 shapes
// it serves, and GPUs by their published specifications (dense bf16
// tensor throughput, memory bandwidth and size) with the link between
// neighbouring pipeline stages.
#pragma once

#include <string>
#include <vector>

namespace tdpipe::sim {

struct LlamaShape {
  std::string name;  // as in the profile: llama2-13b, ...
  int layers, dim, heads, kv_heads, hidden, vocab;
  double layer_params() const;  // weights of one decoder layer
  double total_params() const;  // with embedding and classifier
  int kv_dim() const { return dim / heads * kv_heads; }
  double kv_bytes_per_token_layer() const { return 2.0 * kv_dim() * 2; }  // K and V, bf16
};

struct Gpu {
  std::string name;
  double flops;         // dense bf16 tensor FLOP/s
  double bandwidth;     // memory bytes/s
  double memory;        // bytes
  double link;          // bytes/s to the next stage's GPU
  double link_latency;  // seconds per transfer
};

// llama2-13b, llama2-34b (Code Llama 34B's shape), llama2-70b.
const LlamaShape& shape_named(const std::string& name);
const std::vector<LlamaShape>& shapes();
// h200, a100, l20.
const Gpu& gpu_named(const std::string& name);

}  // namespace tdpipe::sim
