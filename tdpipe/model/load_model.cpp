// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/model/load_model.h"

#include "tdpipe/model/gguf.h"
#include "tdpipe/model/llama2c.h"

#include <filesystem>

namespace tdpipe {

LoadedModel load_model(const std::string& path, const std::string& tokenizer_path, int stage,
                       int stages) {
  LoadedModel m;
  m.name = std::filesystem::path(path).stem().string();
  if (is_gguf(path)) {
    GgufModel g = load_gguf(path, stage, stages);
    m.weights = std::move(g.weights);
    if (!g.name.empty()) m.name = g.name;
    if (g.tokenizer) {
      m.bos = g.tokenizer->bos();
      m.eos = g.tokenizer->eos();
      m.tokenizer = std::move(g.tokenizer);
    }
  } else {
    m.weights = load_llama2c(path, stage, stages);
  }
  if (!tokenizer_path.empty()) {
    m.tokenizer = load_llama2c_tokenizer(tokenizer_path, m.weights.config.vocab_size);
  }
  return m;
}

}  // namespace tdpipe
