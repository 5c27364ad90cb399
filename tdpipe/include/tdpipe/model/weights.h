// SPDX-License-Identifier: GPL-2.0-or-later
//
// A model's weights in float32, row-major, laid out as llama2.c lays them
// (each matrix W of shape rows x cols maps an input of cols values to rows
// outputs): per layer the attention and feed-forward norms and matrices.
#pragma once

#include "tdpipe/model/config.h"

#include <string>
#include <vector>

namespace tdpipe {

struct LayerWeights {
  std::vector<float> attention_norm;  // dim
  std::vector<float> wq;              // dim x dim
  std::vector<float> wk;              // kv_dim x dim
  std::vector<float> wv;              // kv_dim x dim
  std::vector<float> wo;              // dim x dim
  std::vector<float> ffn_norm;        // dim
  std::vector<float> w1;              // hidden x dim (gate)
  std::vector<float> w2;              // dim x hidden (down)
  std::vector<float> w3;              // hidden x dim (up)
};

// A pipeline stage may hold only its layers [first_layer, last_layer): the
// others are empty, as are the embedding (unless it is the first stage or
// the classifier shares it and it is the last), the final norm and the
// classifier (unless it is the last).
struct Weights {
  ModelConfig config;
  int first_layer = 0, last_layer = 0;  // the layers held
  std::vector<float> token_embedding;   // vocab x dim
  std::vector<LayerWeights> layers;
  std::vector<float> final_norm;  // dim
  std::vector<float> classifier;  // vocab x dim; empty when shared with the embedding

  // Zeroed weights of the config's shape: all layers, or [first, last).
  static Weights zeros(const ModelConfig& config);
  static Weights zeros(const ModelConfig& config, int first, int last);
  bool holds_all() const { return first_layer == 0 && last_layer == config.n_layers; }
  // Empty if these weights can run the layers [first, last) of a stage,
  // else what is missing.
  std::string missing_for(int first, int last) const;
  const std::vector<float>& output_matrix() const {
    return config.shared_classifier ? token_embedding : classifier;
  }
};

}  // namespace tdpipe
