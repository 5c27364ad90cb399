// SPDX-License-Identifier: GPL-2.0-or-later
//
// WordCount: (word, occurrences) for every whitespace-separated word of a
// text. Each rank counts its part in one hash table (a combiner, as
// mapPartitions would), then reduce_by_key merges the tables by word. The
// input is lines, or chunks of whole lines (read_text_chunks) to save the
// allocation of every line.
#pragma once

#include "topo/core/dataset.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace topo::apps {

using WordCounts = Dataset<std::pair<std::string, std::uint64_t>>;

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Calls f(word) for each word of `text` (separated by spaces, tabs, line
// breaks, \f, \v).
template <typename F>
void for_each_word(std::string_view line, F f) {
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && space(line[i])) ++i;
    std::size_t start = i;
    while (i < line.size() && !space(line[i])) ++i;
    if (i > start) f(line.substr(start, i - start));
  }
}

inline WordCounts word_count(const Dataset<std::string>& lines) {
  return lines
      .map_partitions([](const std::vector<std::string>& part) {
        std::unordered_map<std::string, std::uint64_t, StringHash, std::equal_to<>> counts;
        for (const std::string& line : part) {
          for_each_word(line, [&](std::string_view word) {
            auto it = counts.find(word);
            if (it == counts.end())
              counts.emplace(std::string(word), 1);
            else
              ++it->second;
          });
        }
        return std::vector<std::pair<std::string, std::uint64_t>>(counts.begin(), counts.end());
      })
      .reduce_by_key([](std::uint64_t a, std::uint64_t b) { return a + b; });
}

}  // namespace topo::apps
