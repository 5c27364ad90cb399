// SPDX-License-Identifier: GPL-2.0-or-later
//
// tdpipe-convert: a model from one format to the other.
//   tdpipe-convert --in FILE --out FILE.gguf [--type f32|f16|q8_0] [--tokenizer tokenizer.bin]
//                  [--name NAME]
//   tdpipe-convert --in FILE.gguf --out FILE.bin        (a llama2.c checkpoint, float32)
// The output's format follows its name: .gguf is GGUF, anything else a
// llama2.c checkpoint. --tokenizer embeds a llama2.c tokenizer.bin in a GGUF.
#include "model/gguf.h"
#include "model/llama2c.h"
#include "model/load_model.h"
#include "tools/options.h"

#include <cstdio>

using namespace tdpipe;

int main(int argc, char** argv) {
  try {
    Options o(argc, argv, {"help"});
    if (o.has("help")) {
      std::puts(
          "usage: tdpipe-convert --in FILE --out FILE.gguf [--type f32|f16|q8_0] [--tokenizer "
          "tokenizer.bin] [--name NAME]\n"
          "       tdpipe-convert --in FILE.gguf --out FILE.bin");
      return 0;
    }
    LoadedModel m = load_model(o.text("in"), o.has("tokenizer") ? o.text("tokenizer") : "");
    const std::string out = o.text("out");
    const bool gguf = out.size() > 5 && out.substr(out.size() - 5) == ".gguf";
    if (gguf) {
      const std::string t = o.has("type") ? o.text("type") : "f32";
      GgufType type = t == "f32" ? GgufType::f32 : t == "f16" ? GgufType::f16 : GgufType::q8_0;
      if (t != "f32" && t != "f16" && t != "q8_0")
        throw std::invalid_argument("--type: f32, f16 or q8_0, not \"" + t + "\"");
      save_gguf(out, m.weights, type, m.tokenizer ? &*m.tokenizer : nullptr,
                o.has("name") ? o.text("name") : m.name);
    } else {
      if (o.has("type")) throw std::invalid_argument("--type applies to GGUF output only");
      save_llama2c(m.weights, out);
    }
    std::fprintf(stderr, "tdpipe-convert: %s -> %s\n", o.text("in").c_str(), out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tdpipe-convert: %s\n", e.what());
    return 1;
  }
  return 0;
}
