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
#include "model/load_model.h"
#include "predict/length_predictor.h"
#include "serve/dispatcher.h"
#include "serve/http_server.h"
#include "serve/inference_service.h"
#include "serve/settings.h"
#include "serve/termination.h"
#include "tools/options.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace tdpipe;

int main(int argc, char** argv) {
  try {
    Options o(argc, argv, {"help"});
    if (o.has("help")) {
      std::puts(
          "usage: tdpipe-serve [--config FILE] [--model FILE] [--listen HOST:PORT] [--port-file "
          "FILE]\n"
          "                    [--scheduler tdpipe|vllm-pp|vllm-chunked|chunked|continuous]\n"
          "                    [--kv-blocks N]"
          " [--max-batch-seqs N] [--predictor FILE]");
      return 0;
    }
    ServeSettings s = ServeSettings::load(o.has("config") ? o.text("config") : "");
    if (o.has("model")) s.model = o.text("model");
    if (o.has("predictor")) s.predictor = o.text("predictor");
    if (o.has("scheduler")) s.scheduler = o.text("scheduler");
    s.kv_blocks = int(o.number("kv-blocks", s.kv_blocks, 0, 1 << 24));
    s.max_batch_seqs = int(o.number("max-batch-seqs", s.max_batch_seqs, 1, 1 << 16));
    if (s.model.empty()) s.model = default_model_path();
    if (s.predictor.empty()) s.predictor = default_predictor_path(s.model);
    const Address listen = parse_address(o.has("listen") ? o.text("listen") : "127.0.0.1:8000");
    const std::string& host = listen.host;
    const int port = listen.port;

    LoadedModel model = load_model(s.model);
    std::function<int(const Request&)> predict;
    if (!s.predictor.empty()) {
      auto predictor = std::make_shared<LengthPredictor>(LengthPredictor::load(s.predictor));
      predict = [predictor](const Request& r) { return predictor->predict_tokens(r); };
    }
    // Signals go to the thread that waits for them, not to the workers.
    block_termination();

    const std::string name = model.name;
    InferenceService service(std::move(model.weights), std::move(model.tokenizer), name, model.eos,
                             s, predict);
    HttpServer server(service, s);
    const int bound = server.bind(host, port);
    if (o.has("port-file")) {
      std::ofstream(o.text("port-file")) << bound << "\n";
    }
    std::fprintf(stderr, "tdpipe-serve: %s (%s scheduler%s) on %s:%d\n", name.c_str(),
                 s.scheduler.c_str(), s.predictor.empty() ? "" : ", length predictor", host.c_str(),
                 bound);
    std::thread http([&] { server.serve(); });
    wait_for_termination();
    std::fprintf(stderr, "tdpipe-serve: draining\n");
    service.drain();
    service.wait_idle();
    while (server.responses_in_progress() > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    server.stop();
    http.join();
    std::fprintf(stderr, "tdpipe-serve: stopped\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tdpipe-serve: %s\n", e.what());
    return 1;
  }
  return 0;
}
