// SPDX-License-Identifier: GPL-2.0-or-later
//
// tdpipe-serve: an OpenAI-compatible completions server over the TD-Pipe
// engine, for a llama2.c checkpoint or a GGUF model (text prompts and text
// in the answers when the model has a tokenizer).
//   tdpipe-serve [--config converge.json] [--model FILE] [--listen HOST:PORT]
//                [--port-file FILE] [--scheduler tdpipe|vllm-pp|vllm-chunked|chunked|continuous]
//                [--kv-blocks N] [--max-batch-seqs N] [--predictor FILE]
// Settings come from the "tdpipe" section of converge.json, then the
// options. Port 0 takes any free port (written to --port-file). SIGTERM or
// SIGINT drains: new requests get 503 while the admitted ones finish and
// their responses are sent; then it exits 0.
#include "tdpipe/model/load_model.h"
#include "tdpipe/predict/length_predictor.h"
#include "tdpipe/serve/api_key.h"
#include "tdpipe/serve/dispatcher.h"
#include "tdpipe/serve/http_server.h"
#include "tdpipe/serve/inference_service.h"
#include "tdpipe/serve/settings.h"

#include "converge/cli.h"
#include "converge/stop_signals.h"
#include "converge/log.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace tdpipe;

int main(int argc, char** argv) {
  converge::log::set_program_name("tdpipe-serve");
  return converge::cli::run("tdpipe-serve", [&] {
    CLI::App app{"An OpenAI-compatible completions server over the TD-Pipe engine", "tdpipe-serve"};
    std::string config, model_file, predictor, scheduler, listen_at = "127.0.0.1:8000", port_file,
                                                          api_key_file;
    bool no_api_key = false;
    int kv_blocks = 0, max_batch_seqs = 0;
    // A later option overrides an earlier one (a wrapper's defaults, then the caller's).
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.add_option("--config", config, "converge.json with a \"tdpipe\" section");
    auto* model_opt = app.add_option("--model", model_file, "llama2.c checkpoint or GGUF model");
    auto* predictor_opt = app.add_option("--predictor", predictor, "output-length predictor");
    auto* scheduler_opt =
        app.add_option("--scheduler", scheduler, "the batch scheduler")
            ->check(CLI::IsMember({"tdpipe", "vllm-pp", "vllm-chunked", "chunked", "continuous"}));
    app.add_option("--listen", listen_at, "HOST:PORT (port 0: any free port)");
    app.add_option("--port-file", port_file, "write the port it listens on to FILE");
    auto* key_opt = app.add_option("--api-key-file", api_key_file,
                                   "the key clients must send (Authorization: Bearer); default: "
                                   "$TDPIPE_API_KEY or the job's own");
    app.add_flag("--no-api-key", no_api_key, "serve anyone who can connect (a private test)")
        ->excludes(key_opt);
    auto* kv_opt = app.add_option("--kv-blocks", kv_blocks, "KV-cache blocks (0: enough)")
                       ->check(CLI::Range(0, 1 << 24));
    auto* seqs_opt = app.add_option("--max-batch-seqs", max_batch_seqs, "sequences per batch")
                         ->check(CLI::Range(1, 1 << 16));
    converge::cli::parse(app, argc, argv);

    ServeSettings s = ServeSettings::load(config);
    if (*model_opt) s.model = model_file;
    if (*predictor_opt) s.predictor = predictor;
    if (*scheduler_opt) s.scheduler = scheduler;
    if (*kv_opt) s.kv_blocks = kv_blocks;
    if (*seqs_opt) s.max_batch_seqs = max_batch_seqs;
    if (s.model.empty()) s.model = default_model_path();
    if (s.predictor.empty()) s.predictor = default_predictor_path(s.model);
    std::optional<std::string> api_key = server_api_key(api_key_file, no_api_key);
    const Address listen = parse_address(listen_at);
    const std::string& host = listen.host;
    const int port = listen.port;

    LoadedModel model = load_model(s.model);
    std::function<int(const Request&)> predict;
    if (!s.predictor.empty()) {
      auto predictor = std::make_shared<LengthPredictor>(LengthPredictor::load(s.predictor));
      predict = [predictor](const Request& r) { return predictor->predict_tokens(r); };
    }
    // Signals go to the thread that waits for them, not to the workers.
    converge::StopSignals stop;

    const std::string name = model.name;
    InferenceService service(std::move(model.weights), std::move(model.tokenizer), name, model.eos,
                             s, predict);
    HttpServer server(service, s);
    if (api_key) server.require_api_key(*api_key);
    const int bound = server.bind(host, port);
    if (!port_file.empty()) std::ofstream(port_file) << bound << "\n";
    converge::log::info("{} ({} scheduler{}) on {}:{}", name, s.scheduler,
                        s.predictor.empty() ? "" : ", length predictor", host, bound);
    std::thread http([&] { server.serve(); });
    stop.wait();
    converge::log::info("draining");
    service.drain();
    service.wait_idle();
    while (server.responses_in_progress() > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    server.stop();
    http.join();
    converge::log::info("stopped");
    return 0;
  });
}
