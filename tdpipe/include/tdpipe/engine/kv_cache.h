// SPDX-License-Identifier: GPL-2.0-or-later
//
// The paged KV cache: keys and values of every layer live in fixed blocks
// of kBlockTokens token slots; a sequence owns a block table, the blocks
// holding its positions in order (position p is slot p % 16 of block
// table[p / 16]). Blocks are allocated as sequences grow and released when
// they finish or are preempted, so memory follows the tokens actually
// held, not the longest sequence a request might reach.
#pragma once

#include "tdpipe/model/config.h"

#include <cstdint>
#include <vector>

namespace tdpipe {

inline constexpr int kBlockTokens = 16;

inline int blocks_for(int tokens) {
  return (tokens + kBlockTokens - 1) / kBlockTokens;
}

class KvCache {
 public:
  // `blocks` blocks for the layers [first_layer, first_layer + layers).
  KvCache(const ModelConfig& config, int blocks, int first_layer, int layers);

  int total_blocks() const { return total_; }
  int free_blocks() const { return static_cast<int>(free_.size()); }

  // Grows `table` to hold `tokens` positions; false (and no change) if
  // there are not enough free blocks.
  bool reserve(std::vector<int>& table, int tokens);
  void release(std::vector<int>& table);  // every block back; table emptied

  // Key / value slot of position `pos` in layer `layer` (absolute index).
  float* key(const std::vector<int>& table, int layer, int pos);
  float* value(const std::vector<int>& table, int layer, int pos);

 private:
  float* slot(std::vector<float>& store, const std::vector<int>& table, int layer, int pos);

  int kv_dim_, total_, first_layer_, layers_;
  std::vector<float> keys_, values_;  // layer x block x slot x kv_dim
  std::vector<int> free_;
};

}  // namespace tdpipe
