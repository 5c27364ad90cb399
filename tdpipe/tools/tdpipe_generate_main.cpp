// SPDX-License-Identifier: GPL-2.0-or-later
//
// tdpipe-generate: one completion from a model file, printed as token ids.
//   tdpipe-generate --model FILE --prompt-ids 1,2,... --max-tokens N
//                   [--greedy | --temperature T --seed S] [--eos ID] [--ignore-eos]
//                   [--stages 1]
// The prompt's tokens are fed in order, then up to N tokens are generated;
// they are printed on stdout separated by commas, and a summary (count,
// time, why it stopped) on stderr. llama2.c checkpoints end a sequence
// with token 1 (the models were trained with BOS between texts, and
// llama2.c stops there too); --eos overrides that.
#include "engine/generate.h"
#include "model/llama2c.h"
#include "tools/options.h"

#include <chrono>
#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  try {
    tdpipe::Options o(argc, argv, {"greedy", "ignore-eos", "help"});
    if (o.has("help")) {
      std::puts(
          "usage: tdpipe-generate --model FILE --prompt-ids 1,2,... --max-tokens N\n"
          "                       [--greedy | --temperature T --seed S] [--eos ID] [--ignore-eos]");
      return 0;
    }
    if (o.has("greedy") && o.has("temperature"))
      throw std::invalid_argument("--greedy and --temperature exclude each other");
    if (o.number("stages", 1, 1, 64) != 1)
      throw std::invalid_argument("--stages: this build runs one stage only");
    tdpipe::Weights weights = tdpipe::load_llama2c(o.text("model"));
    tdpipe::Request r;
    r.prompt = o.ids("prompt-ids");
    r.max_tokens = int(o.number("max-tokens", 16, 1, 1 << 20));
    r.eos = int(o.number("eos", 1, -1, 1 << 30));
    r.ignore_eos = o.has("ignore-eos");
    r.sampling.temperature = float(o.real("temperature", 0.0));
    r.sampling.seed = std::uint64_t(o.number("seed", 1, 0, 1L << 62));
    tdpipe::ReferenceModel model(weights);
    auto start = std::chrono::steady_clock::now();
    tdpipe::Completion c = tdpipe::generate(model, r);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (std::size_t i = 0; i < c.tokens.size(); ++i)
      std::printf("%s%d", i ? "," : "", c.tokens[i]);
    std::printf("\n");
    std::fprintf(stderr, "tdpipe-generate: %zu tokens after a prompt of %zu in %.3f s (%s)\n",
                 c.tokens.size(), r.prompt.size(), seconds, c.finish_reason.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tdpipe-generate: %s\n", e.what());
    return 1;
  }
}
