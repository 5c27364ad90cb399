// SPDX-License-Identifier: GPL-2.0-or-later
//
// tdpipe-client: one completion from a TD-Pipe server or dispatcher.
//   tdpipe-client [--endpoint HOST:PORT] (--prompt-ids 1,2,... | --prompt-from FILE)
//                 [--max-tokens N] [--temperature T] [--seed S] [--stream] [--out FILE]
// Without --endpoint it asks the TD-Pipe service of the job it runs in
// ($CONVERGE_JOB_DIR/tdpipe/dispatcher.json). --prompt-from turns a file
// (say, an analysis report) into a prompt for a model without a tokenizer:
// BOS, then one token per 4-byte word of the file's hash. Prints the
// response's JSON (with --stream, the token ids as they arrive).
#include "tdpipe/serve/api_key.h"
#include "tdpipe/serve/dispatcher.h"

#include "converge/cli.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

using namespace tdpipe;

namespace {

Address job_endpoint() {
  const char* job_dir = std::getenv("CONVERGE_JOB_DIR");
  if (!job_dir || !*job_dir)
    throw std::invalid_argument(
        "no endpoint: give --endpoint HOST:PORT, or run inside a job with "
        "--converge-services=tdpipe");
  const std::string path = std::string(job_dir) + "/tdpipe/dispatcher.json";
  std::ifstream in(path);
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (!in || j.is_discarded() || !j.contains("dispatcher") || !j["dispatcher"].is_array() ||
      j["dispatcher"].empty() || !j["dispatcher"][0].is_string())
    throw std::runtime_error("cannot read the dispatcher's endpoint from " + path +
                             " (is the tdpipe service up in this job?)");
  return parse_address(j["dispatcher"][0].get<std::string>());
}

// FNV-1a over the file, stretched to `count` tokens below `vocab`.
std::vector<int> prompt_from(const std::string& path, int count, int vocab) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<int> prompt{1};
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ull;
  for (int i = 0; i < count; ++i) {
    h = (h ^ std::uint64_t(i)) * 0x100000001b3ull;
    prompt.push_back(2 + int((h >> 17) % std::uint64_t(vocab - 2)));
  }
  return prompt;
}

}  // namespace

int main(int argc, char** argv) {
  return converge::cli::run("tdpipe-client", [&] {
    CLI::App app{"One completion from a TD-Pipe server or dispatcher", "tdpipe-client"};
    std::string endpoint_at, prompt_file, out_file, api_key_file;
    std::vector<int> prompt_ids;
    int vocab = 512, max_tokens = 16;
    double temperature = 0.0;
    std::int64_t seed = 1;
    bool stream = false;
    app.add_option("--endpoint", endpoint_at,
                   "HOST:PORT (default: the job's dispatcher, $CONVERGE_JOB_DIR)");
    auto* ids_opt = app.add_option("--prompt-ids", prompt_ids, "token ids 1,2,...")->delimiter(',');
    auto* file_opt =
        app.add_option("--prompt-from", prompt_file, "a prompt made from a file's hash");
    ids_opt->excludes(file_opt);
    app.add_option("--vocab", vocab, "--prompt-from: tokens below this")
        ->check(CLI::Range(3, 1 << 24))
        ->needs(file_opt);
    app.add_option("--max-tokens", max_tokens, "tokens to generate")->check(CLI::Range(1, 1 << 20));
    app.add_option("--temperature", temperature, "0: greedy")->check(CLI::Range(0.0, 100.0));
    app.add_option("--seed", seed, "sampling seed")
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 62));
    app.add_flag("--stream", stream, "stream the answer; print the token ids");
    app.add_option("--out", out_file, "write the answer to FILE");
    app.add_option("--api-key-file", api_key_file,
                   "the server's key (default: $TDPIPE_API_KEY or the job's own)");
    converge::cli::parse(app, argc, argv);
    if (!*ids_opt && !*file_opt)
      throw std::invalid_argument("no prompt: give --prompt-ids or --prompt-from");

    Address endpoint = !endpoint_at.empty() ? parse_address(endpoint_at) : job_endpoint();
    std::vector<int> prompt = *file_opt ? prompt_from(prompt_file, 8, vocab) : prompt_ids;
    nlohmann::json body{{"prompt", prompt},
                        {"max_tokens", max_tokens},
                        {"temperature", temperature},
                        {"seed", seed},
                        {"stream", stream}};
    httplib::Client client(endpoint.host, endpoint.port);
    if (auto key = find_api_key(api_key_file)) client.set_bearer_token_auth(*key);
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(3600, 0);
    auto r = client.Post("/v1/completions", body.dump(), "application/json");
    if (!r)
      throw std::runtime_error("cannot reach " + endpoint.to_string() + ": " +
                               httplib::to_string(r.error()));
    if (r->status != 200) {
      nlohmann::json e = nlohmann::json::parse(r->body, nullptr, false);
      std::string why = !e.is_discarded() && e.contains("error")
                            ? e["error"]["message"].get<std::string>()
                            : r->body;
      throw std::runtime_error(endpoint.to_string() + " answered " + std::to_string(r->status) +
                               ": " + why);
    }
    std::string out = r->body;
    if (stream) {  // the events' token ids, one line
      std::istringstream events(r->body);
      std::string line, ids;
      while (std::getline(events, line)) {
        if (line.rfind("data: {", 0) != 0) continue;
        const nlohmann::json event = nlohmann::json::parse(line.substr(6));
        for (int t : event["choices"][0]["token_ids"])
          ids += (ids.empty() ? "" : ",") + std::to_string(t);
      }
      out = ids + "\n";
    }
    if (!out_file.empty()) {
      std::ofstream file(out_file);
      file << out;
      if (!file) throw std::runtime_error("cannot write " + out_file);
    } else {
      std::fputs(out.c_str(), stdout);
    }
    return 0;
  });
}
