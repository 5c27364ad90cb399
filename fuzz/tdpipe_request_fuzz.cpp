// SPDX-License-Identifier: GPL-2.0-or-later
//
// TD-Pipe's completion request bodies, and text through the tokenizer: a
// bad body is an ApiError (a 4xx), never a crash or a quadratic stall.
#include "tdpipe/serve/completion_api.h"
#include "unit/tdpipe/small_tokenizer.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const tdpipe::Tokenizer tokenizer = tdpipe::testing::small_tokenizer();
  std::string body(reinterpret_cast<const char*>(data), size);
  try {
    tdpipe::parse_completion_request(body, 2, &tokenizer, 512);
  } catch (const tdpipe::ApiError&) {
  }
  try {
    tokenizer.encode(body, true);
  } catch (const std::invalid_argument&) {  // a byte the vocabulary cannot express
  }
  return 0;
}
