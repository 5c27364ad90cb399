// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/engine/kv_cache.h"

#include <stdexcept>
#include <string>

namespace tdpipe {

KvCache::KvCache(const ModelConfig& config, int blocks, int first_layer, int layers)
    : kv_dim_(config.kv_dim()), total_(blocks), first_layer_(first_layer), layers_(layers) {
  if (blocks < 1) throw std::invalid_argument("the KV cache needs at least one block");
  std::size_t floats = std::size_t(layers) * blocks * kBlockTokens * kv_dim_;
  keys_.resize(floats);
  values_.resize(floats);
  for (int b = blocks - 1; b >= 0; --b) free_.push_back(b);  // block 0 handed out first
}

bool KvCache::reserve(std::vector<int>& table, int tokens) {
  int needed = blocks_for(tokens) - static_cast<int>(table.size());
  if (needed <= 0) return true;
  if (needed > free_blocks()) return false;
  for (int i = 0; i < needed; ++i) {
    table.push_back(free_.back());
    free_.pop_back();
  }
  return true;
}

void KvCache::release(std::vector<int>& table) {
  for (int b : table) free_.push_back(b);
  table.clear();
}

float* KvCache::slot(std::vector<float>& store, const std::vector<int>& table, int layer, int pos) {
  int l = layer - first_layer_;
  int index = pos / kBlockTokens;
  if (l < 0 || l >= layers_ || index >= int(table.size()))
    throw std::out_of_range("KV slot of layer " + std::to_string(layer) + ", position " +
                            std::to_string(pos) + " is not reserved");
  std::size_t block = std::size_t(table[index]);
  return store.data() +
         ((std::size_t(l) * total_ + block) * kBlockTokens + pos % kBlockTokens) * kv_dim_;
}

float* KvCache::key(const std::vector<int>& table, int layer, int pos) {
  return slot(keys_, table, layer, pos);
}
float* KvCache::value(const std::vector<int>& table, int layer, int pos) {
  return slot(values_, table, layer, pos);
}

}  // namespace tdpipe
