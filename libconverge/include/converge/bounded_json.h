// SPDX-License-Identifier: GPL-2.0-or-later
//
// JSON from untrusted peers: nesting is bounded before anything is parsed,
// so a deeply nested document cannot exhaust the stack (nlohmann's values
// are destroyed and printed recursively).
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <stdexcept>
#include <string_view>

namespace converge {

inline constexpr std::size_t kMaxJsonDepth = 64;

class JsonLimitError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// The deepest nesting of arrays and objects in `text` (strings skipped);
// stops counting once past `limit`.
std::size_t json_depth(std::string_view text, std::size_t limit = kMaxJsonDepth);

// Parses `text`; throws JsonLimitError when it nests deeper than
// `max_depth`, and nlohmann::json::parse_error when it is not JSON.
nlohmann::json parse_bounded_json(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

}  // namespace converge
