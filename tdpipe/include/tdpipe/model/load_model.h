// SPDX-License-Identifier: GPL-2.0-or-later
//
// A model file of either format (GGUF or a llama2.c checkpoint, told apart
// by GGUF's magic), with its tokenizer when it has one and the token that
// ends a sequence.
#pragma once

#include "tdpipe/model/tokenizer.h"
#include "tdpipe/model/weights.h"

#include <optional>
#include <string>

namespace tdpipe {

struct LoadedModel {
  Weights weights;
  std::optional<Tokenizer> tokenizer;
  int bos = 1;
  // llama2.c's models were trained with BOS between texts and end there;
  // a GGUF model's tokenizer names its EOS.
  int eos = 1;
  std::string name;
};

// `tokenizer_path`: a llama2.c tokenizer.bin for a checkpoint without one.
// With `stages` > 1, only what pipeline stage `stage` runs (its layers of
// split_layers, and the embedding or classifier where it needs them).
LoadedModel load_model(const std::string& path, const std::string& tokenizer_path = "",
                       int stage = 0, int stages = 1);

}  // namespace tdpipe
