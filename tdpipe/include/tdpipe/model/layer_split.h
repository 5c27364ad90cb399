// SPDX-License-Identifier: GPL-2.0-or-later
//
// How a model's layers are split over pipeline stages: contiguous ranges,
// as even as possible, earlier stages taking the extra layers.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace tdpipe {

inline std::vector<std::pair<int, int>> split_layers(int layers, int stages) {
  if (stages < 1 || stages > layers)
    throw std::invalid_argument(std::to_string(stages) + " stages for a model of " +
                                std::to_string(layers) + " layers");
  std::vector<std::pair<int, int>> out;
  for (int s = 0, first = 0; s < stages; ++s) {
    int count = layers / stages + (s < layers % stages ? 1 : 0);
    out.emplace_back(first, first + count);
    first += count;
  }
  return out;
}

}  // namespace tdpipe
