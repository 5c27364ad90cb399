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
#include "serve/dispatcher.h"
#include "tools/options.h"

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
  try {
    Options o(argc, argv, {"help", "stream"});
    if (o.has("help")) {
      std::puts(
          "usage: tdpipe-client [--endpoint HOST:PORT] (--prompt-ids 1,2,... | --prompt-from "
          "FILE)\n"
          "                     [--max-tokens N] [--temperature T] [--seed S] [--stream] [--out "
          "FILE]");
      return 0;
    }
    Address endpoint = o.has("endpoint") ? parse_address(o.text("endpoint")) : job_endpoint();
    std::vector<int> prompt =
        o.has("prompt-from")
            ? prompt_from(o.text("prompt-from"), 8, int(o.number("vocab", 512, 3, 1 << 24)))
            : o.ids("prompt-ids");
    nlohmann::json body{{"prompt", prompt},
                        {"max_tokens", o.number("max-tokens", 16, 1, 1 << 20)},
                        {"temperature", o.real("temperature", 0.0)},
                        {"seed", o.number("seed", 1, 0, 1L << 62)},
                        {"stream", o.has("stream")}};
    httplib::Client client(endpoint.host, endpoint.port);
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
    if (o.has("stream")) {  // the events' token ids, one line
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
    if (o.has("out")) {
      std::ofstream file(o.text("out"));
      file << out;
      if (!file) throw std::runtime_error("cannot write " + o.text("out"));
    } else {
      std::fputs(out.c_str(), stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tdpipe-client: %s\n", e.what());
    return 1;
  }
  return 0;
}
