// SPDX-License-Identifier: GPL-2.0-or-later
//
// How save_text writes an element as one line: strings as they are, numbers
// in their shortest exact form, pairs and tuples as tab-separated fields.
#pragma once

#include "topo/core/serialize.h"

#include <charconv>
#include <string>
#include <tuple>
#include <type_traits>

namespace topo {

template <typename T>
void append_text(std::string& out, const T& x) {
  if constexpr (std::is_same_v<T, std::string>) {
    out += x;
  } else if constexpr (std::is_same_v<T, char>) {
    out += x;
  } else if constexpr (std::is_arithmetic_v<T>) {
    char buffer[64];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, x);
    out.append(buffer, end);
  } else if constexpr (is_pair<T>::value) {
    append_text(out, x.first);
    out += '\t';
    append_text(out, x.second);
  } else if constexpr (is_tuple<T>::value) {
    bool first = true;
    std::apply(
        [&](const auto&... field) {
          ((out += (first ? "" : "\t"), append_text(out, field), first = false), ...);
        },
        x);
  } else {
    static_assert(sizeof(T) == 0, "save_text: no text form for this element type (map it first)");
  }
}

}  // namespace topo
