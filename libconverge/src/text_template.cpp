// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/text_template.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace converge {

std::string render_template(std::string_view text, const std::map<std::string, std::string>& values,
                            std::string_view origin) {
  std::string out;
  std::size_t pos = 0;
  while (true) {
    std::size_t open = text.find('@', pos);
    if (open == std::string_view::npos) break;
    std::size_t close = text.find('@', open + 1);
    std::string_view name = close == std::string_view::npos
                                ? std::string_view{}
                                : text.substr(open + 1, close - open - 1);
    bool is_placeholder = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return std::isupper(static_cast<unsigned char>(c)) ||
             std::isdigit(static_cast<unsigned char>(c)) || c == '_';
    });
    if (!is_placeholder) {
      // A lone '@' (e-mail address, etc.) is text.
      out.append(text.substr(pos, open + 1 - pos));
      pos = open + 1;
      continue;
    }
    auto it = values.find(std::string(name));
    if (it == values.end()) {
      auto line =
          std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(open), '\n') + 1;
      throw TemplateError(fmt::format("{}:{}: no value for @{}@", origin, line, name));
    }
    out.append(text.substr(pos, open - pos));
    out.append(it->second);
    pos = close + 1;
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace converge
