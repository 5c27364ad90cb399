// SPDX-License-Identifier: GPL-2.0-or-later
//
// The OpenAI completions API as TD-Pipe speaks it: the request body of
// POST /v1/completions checked field by field (unknown fields, wrong types
// and values out of range are errors that name the field), and the JSON of
// a completion, of a streamed chunk and of an error.
#pragma once

#include "tdpipe/engine/generate.h"
#include "tdpipe/model/tokenizer.h"

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace tdpipe {

// An error for the client: an HTTP status and a one-line message.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

struct CompletionRequest {
  Request request;
  bool stream = false;
  std::string model;
};

// Throws ApiError(400) for malformed JSON, unknown or unsupported fields
// and bad values; a text prompt needs a tokenizer (none: 400). `eos` is
// the model's end-of-sequence token.
// A text prompt longer than `context_tokens` tokens could encode is
// refused by its length in bytes, before it is tokenized.
CompletionRequest parse_completion_request(const std::string& body, int eos,
                                           const Tokenizer* tokenizer, int context_tokens);

// `text` is the completion's text ("" without a tokenizer).
nlohmann::json completion_json(const std::string& id, const std::string& model,
                               const std::vector<int>& prompt, const Completion& completion,
                               const std::string& text, long created);
// One server-sent event's data: a token and its text, or the finish reason
// when `token` is negative.
nlohmann::json chunk_json(const std::string& id, const std::string& model, int token,
                          const std::string& text, const std::string& finish_reason, long created);
nlohmann::json error_json(int status, const std::string& message);

}  // namespace tdpipe
