// SPDX-License-Identifier: GPL-2.0-or-later
//
// tdpipe-synth: writes a llama2.c checkpoint of any Llama shape with random
// weights from a seed (the same file for the same arguments everywhere).
//   tdpipe-synth --out FILE --dim D --hidden H --layers L --heads NH
//                [--kv-heads NKV] --vocab V --seq-len S [--seed X] [--unshared]
//   tdpipe-synth --out FILE --shape 100m [--seed X]   (dim 768, 12 layers, vocab 32000: ~110M
//   parameters)
#include "tdpipe/model/llama2c.h"
#include "tdpipe/model/synthetic.h"

#include "converge/cli.h"

#include <cstdio>

int main(int argc, char** argv) {
  return converge::cli::run("tdpipe-synth", [&] {
    CLI::App app{"A llama2.c checkpoint of any Llama shape with random weights from a seed",
                 "tdpipe-synth"};
    std::string out, shape;
    tdpipe::ModelConfig c;
    std::uint64_t seed = 1;
    bool unshared = false;
    app.add_option("--out", out, "the checkpoint to write")->required();
    auto* shape_opt = app.add_option("--shape", shape, "a preset: 100m (dim 768, 12 layers)")
                          ->check(CLI::IsMember({"100m"}));
    std::vector<CLI::Option*> dims{
        app.add_option("--dim", c.dim, "model width")->check(CLI::Range(1, 1 << 16)),
        app.add_option("--hidden", c.hidden_dim, "feed-forward width")
            ->check(CLI::Range(1, 1 << 18)),
        app.add_option("--layers", c.n_layers, "layers")->check(CLI::Range(1, 1024)),
        app.add_option("--heads", c.n_heads, "attention heads")->check(CLI::Range(1, 1024)),
        app.add_option("--vocab", c.vocab_size, "vocabulary size")->check(CLI::Range(1, 1 << 20)),
        app.add_option("--seq-len", c.seq_len, "longest sequence")->check(CLI::Range(1, 1 << 20))};
    auto* kv_opt = app.add_option("--kv-heads", c.n_kv_heads, "key/value heads (default: --heads)")
                       ->check(CLI::Range(1, 1024));
    for (auto* d : dims) d->excludes(shape_opt);
    kv_opt->excludes(shape_opt);
    app.add_option("--seed", seed, "random seed")
        ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1} << 62));
    app.add_flag("--unshared", unshared, "a classifier of its own, not the embedding");
    converge::cli::parse(app, argc, argv);

    if (*shape_opt) {
      c = {768, 2048, 12, 12, 12, 32000, 1024};
    } else {
      for (auto* d : dims)
        if (!*d) throw std::invalid_argument(d->get_name() + " is required without --shape");
      if (!*kv_opt) c.n_kv_heads = c.n_heads;
    }
    c.shared_classifier = !unshared;
    if (auto p = c.problem(); !p.empty()) throw std::invalid_argument("model shape: " + p);
    auto weights = tdpipe::synthetic_weights(c, seed);
    tdpipe::save_llama2c(weights, out);
    std::printf("tdpipe-synth: %s: %llu parameters (dim %d, %d layers, %d/%d heads, vocab %d)\n",
                out.c_str(), static_cast<unsigned long long>(c.parameters()), c.dim, c.n_layers,
                c.n_heads, c.n_kv_heads, c.vocab_size);
    return 0;
  });
}
