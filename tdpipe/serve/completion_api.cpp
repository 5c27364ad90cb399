// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/serve/completion_api.h"

#include <set>

namespace tdpipe {

using Json = nlohmann::json;

namespace {

[[noreturn]] void bad(const std::string& message) {
  throw ApiError(400, message);
}

long integer(const Json& v, const char* name, long low, long high) {
  if (!v.is_number_integer()) bad(std::string(name) + " must be an integer");
  long x = v.get<long>();
  if (x < low || x > high)
    bad(std::string(name) + " must be in " + std::to_string(low) + ".." + std::to_string(high));
  return x;
}

}  // namespace

CompletionRequest parse_completion_request(const std::string& body, int eos,
                                           const Tokenizer* tokenizer, int context_tokens) {
  Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded()) bad("the body is not valid JSON");
  if (!j.is_object()) bad("the body must be a JSON object");
  static const std::set<std::string> known{
      "model", "prompt", "max_tokens", "temperature", "seed", "stream", "ignore_eos", "n", "user"};
  for (const auto& [key, value] : j.items())
    if (!known.count(key)) bad("unknown field \"" + key + "\"");
  CompletionRequest c;
  c.request.eos = eos;
  if (j.contains("model")) {
    if (!j["model"].is_string()) bad("model must be a string");
    c.model = j["model"].get<std::string>();
  }
  if (!j.contains("prompt")) bad("prompt is required");
  const Json& prompt = j["prompt"];
  if (prompt.is_string()) {
    if (!tokenizer) bad("this model has no tokenizer: send the prompt as token ids");
    // Refused by its length before any tokenizing: more bytes than the
    // context's tokens could stand for cannot fit.
    std::size_t bytes = prompt.get_ref<const std::string&>().size();
    if (bytes > std::size_t(context_tokens) * tokenizer->longest_piece()) {
      bad("the prompt is too long: " + std::to_string(bytes) + " bytes cannot fit in the " +
          std::to_string(context_tokens) + "-token context");
    }
    try {
      c.request.prompt = tokenizer->encode(prompt.get<std::string>(), true);
    } catch (const std::invalid_argument& e) {
      bad(e.what());
    }
  } else {
    if (!prompt.is_array() || prompt.empty())
      bad("prompt must be a string or a non-empty array of token ids");
    for (const Json& t : prompt) {
      if (!t.is_number_integer()) bad("prompt must be a string or a non-empty array of token ids");
      c.request.prompt.push_back(int(integer(t, "a prompt token", 0, 1L << 30)));
    }
  }
  if (j.contains("max_tokens"))
    c.request.max_tokens = int(integer(j["max_tokens"], "max_tokens", 1, 1L << 20));
  if (j.contains("temperature")) {
    if (!j["temperature"].is_number()) bad("temperature must be a number");
    double t = j["temperature"].get<double>();
    if (!(t >= 0 && t <= 2)) bad("temperature must be in 0..2");
    c.request.sampling.temperature = float(t);
  } else {
    c.request.sampling.temperature = 1.0f;  // the API's default
  }
  if (j.contains("seed"))
    c.request.sampling.seed = std::uint64_t(integer(j["seed"], "seed", 0, 1L << 62));
  if (j.contains("stream")) {
    if (!j["stream"].is_boolean()) bad("stream must be true or false");
    c.stream = j["stream"].get<bool>();
  }
  if (j.contains("ignore_eos")) {
    if (!j["ignore_eos"].is_boolean()) bad("ignore_eos must be true or false");
    c.request.ignore_eos = j["ignore_eos"].get<bool>();
  }
  if (j.contains("n") && integer(j["n"], "n", 1, 1) != 1) bad("n must be 1");
  if (j.contains("user") && !j["user"].is_string()) bad("user must be a string");
  return c;
}

Json completion_json(const std::string& id, const std::string& model,
                     const std::vector<int>& prompt, const Completion& completion,
                     const std::string& text, long created) {
  Json choice{{"index", 0},
              {"text", text},
              {"token_ids", completion.tokens},
              {"finish_reason", completion.finish_reason}};
  return Json{{"id", id},
              {"object", "text_completion"},
              {"created", created},
              {"model", model},
              {"choices", Json::array({choice})},
              {"usage",
               {{"prompt_tokens", prompt.size()},
                {"completion_tokens", completion.tokens.size()},
                {"total_tokens", prompt.size() + completion.tokens.size()}}}};
}

Json chunk_json(const std::string& id, const std::string& model, int token, const std::string& text,
                const std::string& finish_reason, long created) {
  Json choice{{"index", 0}, {"text", text}};
  choice["token_ids"] = token >= 0 ? Json::array({token}) : Json::array();
  choice["finish_reason"] = finish_reason.empty() ? Json(nullptr) : Json(finish_reason);
  return Json{{"id", id},
              {"object", "text_completion"},
              {"created", created},
              {"model", model},
              {"choices", Json::array({choice})}};
}

Json error_json(int status, const std::string& message) {
  const char* type = status == 429 || status == 503 ? "unavailable" : "invalid_request_error";
  return Json{{"error", {{"message", message}, {"type", type}, {"code", status}}}};
}

}  // namespace tdpipe
