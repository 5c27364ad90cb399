// SPDX-License-Identifier: GPL-2.0-or-later
//
// The batched engine: the layers [first_layer, last_layer) of a model over
// a batch of chunks (a chunk is some consecutive tokens of one sequence: a
// whole or partial prompt to prefill, or the one token a decode step
// feeds), with the keys and values in a paged KV cache. A pipeline stage
// is one StageModel; a single-process engine is one StageModel of every
// layer. Matrix products stream each weight row once for the whole batch,
// rows in parallel (OpenMP); every sum runs in the same order as the
// reference's, so logits are bit for bit the reference's.
#pragma once

#include "tdpipe/engine/kv_cache.h"
#include "tdpipe/model/weights.h"

#include <vector>

namespace tdpipe {

struct Chunk {
  std::vector<int>* table = nullptr;  // the sequence's blocks in this stage's cache
  int start = 0;                      // position of the chunk's first token
  int count = 0;                      // tokens in the chunk
};

class StageModel {
 public:
  StageModel(const Weights& weights, int first_layer, int last_layer, int kv_blocks);

  bool first() const { return first_layer_ == 0; }
  bool last() const { return last_layer_ == weights_.config.n_layers; }
  const ModelConfig& config() const { return weights_.config; }
  KvCache& cache() { return cache_; }

  // The first stage's input: the tokens' embeddings, one row of dim each.
  void embed(const std::vector<int>& tokens, std::vector<float>& x) const;
  // Runs this stage's layers over x (one row per token, the chunks' tokens
  // in order), writing each token's keys and values into the cache; the
  // chunks' slots must be reserved.
  void forward(const std::vector<Chunk>& chunks, std::vector<float>& x);
  // The last stage's output: logits (vocab each) of each chunk's last token.
  std::vector<float> logits(const std::vector<Chunk>& chunks, const std::vector<float>& x) const;

 private:
  const Weights& weights_;
  int first_layer_, last_layer_;
  KvCache cache_;
  std::vector<float> xb_, q_, k_, v_, att_out_, proj_, hb_, hb2_, att_;  // scratch, grown as needed
};

// out[t][r] = sum_c w[r][c] * x[t][c] for `tokens` rows of x (cols each).
void matmul_batch(float* out, const float* x, const float* w, int tokens, int cols, int rows);

}  // namespace tdpipe
