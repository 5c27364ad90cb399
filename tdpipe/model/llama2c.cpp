// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/model/llama2c.h"

#include "tdpipe/model/layer_split.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace tdpipe {
namespace {

// Every tensor of the file in order (W: Weights or const Weights); `each`
// is called with the tensor, its name and its size in floats (the tensor
// is empty where the weights do not hold it), `skipped` with the size in
// floats of the legacy RoPE tables.
template <typename W, typename Each, typename Skip>
void for_each_tensor(W& w, Each each, Skip skipped) {
  const ModelConfig& c = w.config;
  const std::uint64_t d = std::uint64_t(c.dim), h = std::uint64_t(c.hidden_dim),
                      kv = std::uint64_t(c.kv_dim()), v = std::uint64_t(c.vocab_size);
  each(w.token_embedding, "token_embedding", v * d);
  auto all = [&](std::vector<float> LayerWeights::*member, const char* name, std::uint64_t n) {
    for (auto& l : w.layers) each(l.*member, name, n);
  };
  all(&LayerWeights::attention_norm, "attention_norm", d);
  all(&LayerWeights::wq, "wq", d * d);
  all(&LayerWeights::wk, "wk", kv * d);
  all(&LayerWeights::wv, "wv", kv * d);
  all(&LayerWeights::wo, "wo", d * d);
  all(&LayerWeights::ffn_norm, "ffn_norm", d);
  all(&LayerWeights::w1, "w1", h * d);
  all(&LayerWeights::w2, "w2", d * h);
  all(&LayerWeights::w3, "w3", h * d);
  each(w.final_norm, "final_norm", d);
  skipped(std::uint64_t(c.seq_len) * c.head_size());  // cos and sin tables
  if (!c.shared_classifier) each(w.classifier, "classifier", v * d);
}

}  // namespace

Weights load_llama2c(const std::string& path) {
  return load_llama2c(path, 0, 1);
}

Weights load_llama2c(const std::string& path, int stage, int stages) {
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
  auto [first, last] = split_layers(c.n_layers, stages).at(std::size_t(stage));
  Weights w = Weights::zeros(c, first, last);
  for_each_tensor(
      w,
      [&](std::vector<float>& t, const char* name, std::uint64_t floats) {
        if (t.empty()) {  // not this stage's
          in.seekg(std::streamoff(floats * 4), std::ios::cur);
          return;
        }
        if (!in.read(reinterpret_cast<char*>(t.data()), std::streamsize(t.size() * 4)))
          throw std::runtime_error(path + ": cannot read " + name);
      },
      [&](std::uint64_t floats) { in.seekg(std::streamoff(floats * 4), std::ios::cur); });
  return w;
}

void save_llama2c(const Weights& weights, const std::string& path) {
  const ModelConfig& c = weights.config;
  if (!weights.holds_all()) throw std::invalid_argument("only whole models can be saved");
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
        [&](const std::vector<float>& t, const char*, std::uint64_t) {
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
