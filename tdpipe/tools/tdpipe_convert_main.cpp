// SPDX-License-Identifier: GPL-2.0-or-later
//
// tdpipe-convert: a model from one format to the other.
//   tdpipe-convert --in FILE --out FILE.gguf [--type f32|f16|q8_0] [--tokenizer tokenizer.bin]
//                  [--name NAME]
//   tdpipe-convert --in FILE.gguf --out FILE.bin        (a llama2.c checkpoint, float32)
// The output's format follows its name: .gguf is GGUF, anything else a
// llama2.c checkpoint. --tokenizer embeds a llama2.c tokenizer.bin in a GGUF.
#include "tdpipe/model/gguf.h"
#include "tdpipe/model/llama2c.h"
#include "tdpipe/model/load_model.h"

#include "converge/cli.h"
#include "converge/log.h"

#include <cstdio>

using namespace tdpipe;

int main(int argc, char** argv) {
  converge::log::set_program_name("tdpipe-convert");
  return converge::cli::run("tdpipe-convert", [&] {
    CLI::App app{"A model from one format to the other (.gguf: GGUF, else llama2.c)",
                 "tdpipe-convert"};
    std::string in, out, type, tokenizer, name;
    app.add_option("--in", in, "the model to read")->required();
    app.add_option("--out", out, "the model to write")->required();
    auto* type_opt = app.add_option("--type", type, "GGUF tensor type")
                         ->check(CLI::IsMember({"f32", "f16", "q8_0"}));
    app.add_option("--tokenizer", tokenizer, "a llama2.c tokenizer.bin to embed in a GGUF");
    app.add_option("--name", name, "the model's name in a GGUF");
    converge::cli::parse(app, argc, argv);

    LoadedModel m = load_model(in, tokenizer);
    const bool gguf = out.size() > 5 && out.substr(out.size() - 5) == ".gguf";
    if (gguf) {
      GgufType t = type == "f16" ? GgufType::f16 : type == "q8_0" ? GgufType::q8_0 : GgufType::f32;
      save_gguf(out, m.weights, t, m.tokenizer ? &*m.tokenizer : nullptr,
                name.empty() ? m.name : name);
    } else {
      if (*type_opt) throw std::invalid_argument("--type applies to GGUF output only");
      save_llama2c(m.weights, out);
    }
    converge::log::info("{} -> {}", in, out);
    return 0;
  });
}
