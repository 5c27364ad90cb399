// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/bounded_json.h"

#include <fmt/format.h>

namespace converge {

std::size_t json_depth(std::string_view text, std::size_t limit) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

nlohmann::json parse_bounded_json(std::string_view text, std::size_t max_depth) {
  if (json_depth(text, max_depth) > max_depth)
    throw JsonLimitError(fmt::format("JSON nested deeper than {} levels", max_depth));
  return nlohmann::json::parse(text);
}

}  // namespace converge
