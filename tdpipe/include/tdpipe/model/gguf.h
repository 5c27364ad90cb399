// SPDX-License-Identifier: GPL-2.0-or-later
//
// GGUF (version 3), the model format of the llama.cpp ecosystem, for Llama
// models: the header, typed metadata (general.*, llama.*, tokenizer.ggml.*),
// tensor descriptions and aligned tensor data. Reads F32, F16 and Q8_0
// tensors (dequantized to float32 on load) and the tokenizer the file
// embeds; writes the same, so checkpoints can be converted either way.
// Tensor names and layouts are llama.cpp's: token_embd, blk.N.attn_norm,
// attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate (w1), ffn_down
// (w2), ffn_up (w3), output_norm, output; a matrix's first dimension is its
// input (row length), as llama2.c lays rows out; Q and K rows are in the
// interleaved-pair RoPE order that llama.cpp's converter produces.
#pragma once

#include "tdpipe/model/tokenizer.h"
#include "tdpipe/model/weights.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tdpipe {

enum class GgufType : std::uint32_t { f32 = 0, f16 = 1, q8_0 = 8 };

struct GgufModel {
  Weights weights;
  std::optional<Tokenizer> tokenizer;
  std::string name;  // general.name, if any
};

// Throws std::runtime_error naming the file and what is wrong: not GGUF,
// an unsupported version, architecture or tensor type, a missing or
// misshapen tensor, a truncated file.
GgufModel load_gguf(const std::string& path);
// Only what pipeline stage `stage` of `stages` runs (see load_llama2c).
GgufModel load_gguf(const std::string& path, int stage, int stages);
// Matrices in `type`, norms in F32. Throws std::invalid_argument if a
// Q8_0 matrix's rows are not a multiple of 32 long.
void save_gguf(const std::string& path, const Weights& weights, GgufType type,
               const Tokenizer* tokenizer = nullptr, const std::string& name = "");

bool is_gguf(const std::string& path);

}  // namespace tdpipe
