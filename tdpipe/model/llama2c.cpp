// SPDX-License-Identifier: GPL-2.0-or-later
#include "model/llama2c.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace tdpipe {
namespace {

// Every tensor of the file in order (W: Weights or const Weights); `each`
// is called with the tensor and its name, `skipped` with the size in floats
// of the legacy RoPE tables.
template <typename W, typename Each, typename Skip>
void for_each_tensor(W& w, Each each, Skip skipped) {
  each(w.token_embedding, "token_embedding");
  auto all = [&](std::vector<float> LayerWeights::*member, const char* name) {
    for (auto& l : w.layers) each(l.*member, name);
  };
  all(&LayerWeights::attention_norm, "attention_norm");
  all(&LayerWeights::wq, "wq");
  all(&LayerWeights::wk, "wk");
  all(&LayerWeights::wv, "wv");
  all(&LayerWeights::wo, "wo");
  all(&LayerWeights::ffn_norm, "ffn_norm");
  all(&LayerWeights::w1, "w1");
  all(&LayerWeights::w2, "w2");
  all(&LayerWeights::w3, "w3");
  each(w.final_norm, "final_norm");
  skipped(std::uint64_t(w.config.seq_len) * w.config.head_size());  // cos and sin tables
  if (!w.config.shared_classifier) each(w.classifier, "classifier");
}

}  // namespace

Weights load_llama2c(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  in.seekg(0, std::ios::end);
  std::uint64_t size = static_cast<std::uint64_t>(in.tellg());
  in.seekg(0);
  std::int32_t header[7];
  if (!in.read(reinterpret_cast<char*>(header), sizeof header))
    throw std::runtime_error(path + ": too short for a llama2.c header");
  ModelConfig c;
  c.dim = header[0];
  c.hidden_dim = header[1];
  c.n_layers = header[2];
  c.n_heads = header[3];
  c.n_kv_heads = header[4];
  c.shared_classifier = header[5] > 0;
  c.vocab_size = header[5] < 0 ? -header[5] : header[5];
  c.seq_len = header[6];
  if (auto p = c.problem(); !p.empty())
    throw std::runtime_error(path + ": not a llama2.c checkpoint (" + p + ")");
  std::uint64_t expected =
      sizeof header + 4 * (c.parameters() + std::uint64_t(c.seq_len) * c.head_size());
  if (size != expected)
    throw std::runtime_error(path + ": " + std::to_string(size) + " bytes, but its header (dim " +
                             std::to_string(c.dim) + ", " + std::to_string(c.n_layers) +
                             " layers) needs " + std::to_string(expected));
  Weights w = Weights::zeros(c);
  for_each_tensor(
      w,
      [&](std::vector<float>& t, const char* name) {
        if (!in.read(reinterpret_cast<char*>(t.data()), std::streamsize(t.size() * 4)))
          throw std::runtime_error(path + ": cannot read " + name);
      },
      [&](std::uint64_t floats) { in.seekg(std::streamoff(floats * 4), std::ios::cur); });
  return w;
}

void save_llama2c(const Weights& weights, const std::string& path) {
  const ModelConfig& c = weights.config;
  std::string partial = path + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(partial + ": cannot create");
    std::int32_t header[7] = {c.dim,        c.hidden_dim,
                              c.n_layers,   c.n_heads,
                              c.n_kv_heads, c.shared_classifier ? c.vocab_size : -c.vocab_size,
                              c.seq_len};
    out.write(reinterpret_cast<const char*>(header), sizeof header);
    for_each_tensor(
        weights,
        [&](const std::vector<float>& t, const char*) {
          out.write(reinterpret_cast<const char*>(t.data()), std::streamsize(t.size() * 4));
        },
        [&](std::uint64_t floats) {
          // The legacy tables, as llama2.c's exporter writes them.
          int half = c.head_size() / 2;
          for (int table = 0; table < 2; ++table)
            for (int pos = 0; pos < c.seq_len; ++pos)
              for (int i = 0; i < half; ++i) {
                double freq = 1.0 / std::pow(double(c.rope_theta), 2.0 * i / c.head_size());
                float v = float(table == 0 ? std::cos(pos * freq) : std::sin(pos * freq));
                out.write(reinterpret_cast<const char*>(&v), 4);
              }
          (void)floats;
        });
    if (!out) throw std::runtime_error(partial + ": cannot write");
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0)
    throw std::runtime_error(path + ": cannot rename the finished file into place");
}

}  // namespace tdpipe
