// SPDX-License-Identifier: GPL-2.0-or-later
//
// tdpipe-synth: writes a llama2.c checkpoint of any Llama shape with random
// weights from a seed (the same file for the same arguments everywhere).
//   tdpipe-synth --out FILE --dim D --hidden H --layers L --heads NH
//                [--kv-heads NKV] --vocab V --seq-len S [--seed X] [--unshared]
//   tdpipe-synth --out FILE --shape 100m [--seed X]   (dim 768, 12 layers, vocab 32000: ~110M
//   parameters)
#include "model/llama2c.h"
#include "model/synthetic.h"
#include "tools/options.h"

#include <cstdio>

int main(int argc, char** argv) {
  try {
    tdpipe::Options o(argc, argv, {"unshared", "help"});
    if (o.has("help")) {
      std::puts(
          "usage: tdpipe-synth --out FILE --dim D --hidden H --layers L --heads NH [--kv-heads "
          "NKV]\n"
          "                    --vocab V --seq-len S [--seed X] [--unshared]\n"
          "       tdpipe-synth --out FILE --shape 100m [--seed X]");
      return 0;
    }
    tdpipe::ModelConfig c;
    if (o.has("shape")) {
      if (o.text("shape") != "100m") throw std::invalid_argument("--shape: 100m is the one preset");
      c = {768, 2048, 12, 12, 12, 32000, 1024};
    } else {
      c.dim = int(o.number("dim", 0, 1, 1 << 16));
      c.hidden_dim = int(o.number("hidden", 0, 1, 1 << 18));
      c.n_layers = int(o.number("layers", 0, 1, 1024));
      c.n_heads = int(o.number("heads", 0, 1, 1024));
      c.n_kv_heads = int(o.number("kv-heads", c.n_heads, 1, 1024));
      c.vocab_size = int(o.number("vocab", 0, 1, 1 << 20));
      c.seq_len = int(o.number("seq-len", 0, 1, 1 << 20));
    }
    c.shared_classifier = !o.has("unshared");
    if (auto p = c.problem(); !p.empty()) throw std::invalid_argument("model shape: " + p);
    auto weights = tdpipe::synthetic_weights(c, std::uint64_t(o.number("seed", 1, 0, 1L << 62)));
    tdpipe::save_llama2c(weights, o.text("out"));
    std::printf("tdpipe-synth: %s: %llu parameters (dim %d, %d layers, %d/%d heads, vocab %d)\n",
                o.text("out").c_str(), static_cast<unsigned long long>(c.parameters()), c.dim,
                c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tdpipe-synth: %s\n", e.what());
    return 1;
  }
}
