// SPDX-License-Identifier: GPL-2.0-or-later
//
// llama2.c checkpoints (the format of Karpathy's llama2.c, "version 0"):
// a header of seven int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
// vocab_size, seq_len; a negative vocab_size means the classifier is not
// shared with the embedding), then float32 tensors: token embedding, every
// layer's attention norm, wq, wk, wv, wo, ffn norm, w1, w2, w3 (each tensor
// for all layers before the next), the final norm, two legacy RoPE tables
// (seq_len x head_size / 2 each, not used: RoPE is computed), and the
// classifier when not shared.
#pragma once

#include "tdpipe/model/weights.h"

#include <string>

namespace tdpipe {

// Throws std::runtime_error naming the file and what is wrong (a short
// file, a header no model has) instead of reading garbage.
Weights load_llama2c(const std::string& path);
// Only what pipeline stage `stage` of `stages` runs: its layers (as
// layer_split.h splits them) and the embedding or classifier where it
// needs them; the rest of the file is skipped. Throws std::out_of_range
// for a stage the model cannot have.
Weights load_llama2c(const std::string& path, int stage, int stages);
void save_llama2c(const Weights& weights, const std::string& path);

}  // namespace tdpipe
