// SPDX-License-Identifier: GPL-2.0-or-later
//
// tdpipe-generate: one completion from a model file, printed as token ids.
//   tdpipe-generate --model FILE (--prompt-ids 1,2,... | --prompt TEXT) --max-tokens N
//                   [--greedy | --temperature T --seed S] [--eos ID] [--ignore-eos]
//                   [--stages P] [--tokenizer tokenizer.bin]
// The model is a llama2.c checkpoint or a GGUF file. The prompt's tokens
// are fed in order, then up to N tokens are generated; they are printed on
// stdout separated by commas (then as text, when the model has a
// tokenizer), and a summary (count, time, why it stopped) on stderr.
// llama2.c checkpoints end a sequence with token 1 (the models were trained
// with BOS between texts, and llama2.c stops there too), GGUF models with
// their tokenizer's EOS; --eos overrides that. With --stages P > 1 the
// model runs as a pipeline of P processes: started as one process, the
// program starts itself again under mpiexec with P ranks; started as P
// ranks (mpiexec -n P, srun --mpi=pmix -n P, on one node or several), it
// runs as they are.
#include "tdpipe/engine/generate.h"
#include "tdpipe/model/load_model.h"
#include "tdpipe/pipeline/pipeline_runner.h"

#include "converge/cli.h"
#include "converge/log.h"

#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

// Started as MPI ranks already: by Open MPI's mpiexec (which sets this for
// every rank) or by a launcher speaking PMIx, such as srun --mpi=pmix.
bool under_mpiexec() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMIX_RANK") != nullptr;
}

// Rank 0, or not started as ranks (MPI is not initialised yet).
bool first_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK"}) {
    const char* v = std::getenv(name);
    if (v) return std::string(v) == "0";
  }
  return true;
}

[[noreturn]] void restart_under_mpiexec(int stages, int argc, char** argv) {
  std::vector<std::string> args{"mpiexec", "-n", std::to_string(stages), "--oversubscribe"};
  if (geteuid() == 0) args.push_back("--allow-run-as-root");
  for (int i = 0; i < argc; ++i) args.push_back(argv[i]);
  std::vector<char*> raw;
  raw.reserve(args.size() + 1);
  for (auto& a : args) raw.push_back(a.data());
  raw.push_back(nullptr);
  execvp("mpiexec", raw.data());
  throw std::runtime_error("cannot run mpiexec for --stages " + std::to_string(stages));
}

}  // namespace

int main(int argc, char** argv) {
  converge::log::set_program_name("tdpipe-generate");
  int rank = 0;
  bool mpi = false;
  int status = 0;
  try {
    CLI::App app{"One completion from a model file, printed as token ids", "tdpipe-generate"};
    std::string model_file, tokenizer, prompt;
    std::vector<int> prompt_ids;
    int stages = 1, max_tokens = 16, eos = 0;
    double temperature = 0.0;
    std::int64_t seed = 1;
    bool greedy = false, ignore_eos = false;
    app.add_option("--model", model_file, "llama2.c checkpoint or GGUF file")->required();
    app.add_option("--tokenizer", tokenizer, "a llama2.c tokenizer.bin");
    auto* text_opt = app.add_option("--prompt", prompt, "the prompt as text (needs a tokenizer)");
    auto* ids_opt = app.add_option("--prompt-ids", prompt_ids, "the prompt as token ids 1,2,...")
                        ->delimiter(',');
    text_opt->excludes(ids_opt);
    app.add_option("--max-tokens", max_tokens, "tokens to generate")->check(CLI::Range(1, 1 << 20));
    auto* greedy_opt = app.add_flag("--greedy", greedy, "always the likeliest token (the default)");
    app.add_option("--temperature", temperature, "sampling temperature")
        ->check(CLI::Range(0.0, 100.0))
        ->excludes(greedy_opt);
    app.add_option("--seed", seed, "sampling seed")
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 62));
    auto* eos_opt = app.add_option("--eos", eos, "the token that ends a sequence (-1: none)")
                        ->check(CLI::Range(-1, 1 << 30));
    app.add_flag("--ignore-eos", ignore_eos, "generate --max-tokens whatever comes");
    app.add_option("--stages", stages, "pipeline stages (MPI ranks)")->check(CLI::Range(1, 64));
    converge::cli::parse(app, argc, argv, first_rank());  // one message, not one per rank
    if (!*text_opt && !*ids_opt)
      throw std::invalid_argument("give either --prompt TEXT or --prompt-ids 1,2,...");
    // Started as P ranks, each loads only its stage; started as one
    // process, it checks everything before starting itself again as P.
    const bool ranks = stages > 1 && under_mpiexec();
    if (ranks) {
      MPI_Init(&argc, &argv);
      mpi = true;
      int size = 1;
      MPI_Comm_rank(MPI_COMM_WORLD, &rank);
      MPI_Comm_size(MPI_COMM_WORLD, &size);
      if (size != stages)
        throw std::invalid_argument("--stages " + std::to_string(stages) + " but " +
                                    std::to_string(size) + " MPI ranks");
    }
    tdpipe::LoadedModel model =
        tdpipe::load_model(model_file, tokenizer, ranks ? rank : 0, ranks ? stages : 1);
    tdpipe::Weights& weights = model.weights;
    tdpipe::Request r;
    if (*text_opt) {
      if (!model.tokenizer)
        throw std::invalid_argument("this model has no tokenizer: give --prompt-ids");
      r.prompt = model.tokenizer->encode(prompt, true);
    } else {
      r.prompt = prompt_ids;
    }
    r.max_tokens = max_tokens;
    r.eos = *eos_opt ? eos : model.eos;
    r.ignore_eos = ignore_eos;
    r.sampling.temperature = float(temperature);
    r.sampling.seed = std::uint64_t(seed);
    if (stages > weights.config.n_layers)
      throw std::invalid_argument("--stages " + std::to_string(stages) + " for a model of " +
                                  std::to_string(weights.config.n_layers) + " layers");
    tdpipe::validate(r, weights.config);
    if (stages > 1 && !ranks) restart_under_mpiexec(stages, argc, argv);
    if (!mpi) {
      MPI_Init(&argc, &argv);
      mpi = true;
    }
    int blocks = tdpipe::blocks_for(weights.config.seq_len);
    if (rank != 0) {
      tdpipe::serve_stage(weights, MPI_COMM_WORLD, blocks);
    } else {
      auto start = std::chrono::steady_clock::now();
      tdpipe::Completion c;
      {
        tdpipe::RunnerOptions options;
        options.kv_blocks = blocks;
        options.step_tokens = 4096;
        tdpipe::PipelineRunner runner(weights, MPI_COMM_WORLD, options);
        runner.submit(0, r);
        c = runner.run().at(0);
      }
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      for (std::size_t i = 0; i < c.tokens.size(); ++i)
        std::printf("%s%d", i ? "," : "", c.tokens[i]);
      std::printf("\n");
      if (model.tokenizer) {  // and the text, continuing the prompt's
        std::string text;
        int previous = r.prompt.back();
        for (int t : c.tokens) {
          text += model.tokenizer->decode(previous, t);
          previous = t;
        }
        std::printf("%s\n", text.c_str());
      }
      std::fprintf(
          stderr,
          "tdpipe-generate: %zu tokens after a prompt of %zu in %.3f s on %d stage%s (%s)\n",
          c.tokens.size(), r.prompt.size(), seconds, stages, stages == 1 ? "" : "s",
          c.finish_reason.c_str());
    }
  } catch (const CLI::ParseError& e) {
    return converge::cli::exit_code(e);  // before MPI starts
  } catch (const std::exception& e) {
    if (rank == 0) converge::log::error("{}", e.what());
    status = 1;
    if (mpi) MPI_Abort(MPI_COMM_WORLD, 1);
  }
  if (mpi) MPI_Finalize();
  return status;
}
