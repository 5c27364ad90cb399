// SPDX-License-Identifier: GPL-2.0-or-later
//
// The stencil analysis of a simulation field on a periodic 3-D grid (the
// demo's analysis step): mean, rms, max |u| and the mean squared gradient
// by second-order central differences with spacing h. Two formulations of
// the same computation:
//   field_stats_intermap - a stencil_reduce over the grid (halo exchange
//                          with the neighbouring blocks only);
//   field_stats_shuffle  - what a framework without topology must do: every
//                          cell sends its value to its six neighbours
//                          (flat_map), group_by_key gathers them, and each
//                          cell computes its gradient.
#pragma once

#include "topo/core/dataset.h"
#include "topo/intermap/grid_dataset.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace topo::apps {

struct FieldStats {
  double mean = 0, rms = 0, max = 0, gradient2 = 0;
};

// Per-cell contributions, summed (max taken) over the grid.
struct FieldSums {
  double sum = 0, sum2 = 0, max = 0, gradient2 = 0;
  static FieldSums combine(const FieldSums& a, const FieldSums& b) {
    return {a.sum + b.sum, a.sum2 + b.sum2, std::max(a.max, b.max), a.gradient2 + b.gradient2};
  }
  FieldStats stats(double cells) const {
    return {sum / cells, std::sqrt(sum2 / cells), max, gradient2 / cells};
  }
};

inline FieldSums cell_sums(double v, double gx, double gy, double gz) {
  return {v, v * v, std::abs(v), gx * gx + gy * gy + gz * gz};
}

// u on a periodic n x n x n grid (dimensions z, y, x).
inline FieldStats field_stats_intermap(GridDataset<double>& u, double h) {
  auto sums = u.stencil_reduce(
      [h](const Stencil<double>& s) {
        return cell_sums(s.center(), (s(0, 0, 1) - s(0, 0, -1)) / (2 * h),
                         (s(0, 1, 0) - s(0, -1, 0)) / (2 * h),
                         (s(1, 0, 0) - s(-1, 0, 0)) / (2 * h));
      },
      FieldSums::combine, FieldSums{});
  return sums.stats(double(u.grid().cells()));
}

// u: the n^3 values in row-major order (z, y, x), as read_binary gives them.
inline FieldStats field_stats_shuffle(const Dataset<double>& u, std::uint64_t n, double h) {
  // Direction d in 0..5: the value came from the cell at -x, +x, -y, +y,
  // -z, +z of the receiver; 6: the receiver's own value.
  using Message = std::pair<std::uint64_t, std::pair<int, double>>;
  auto messages = u.zip_with_index().flat_map([n](const std::pair<double, std::uint64_t>& cell) {
    const auto [v, id] = cell;
    std::uint64_t z = id / (n * n), y = id / n % n, x = id % n;
    auto at = [n](std::uint64_t z, std::uint64_t y, std::uint64_t x) {
      return (z * n + y) * n + x;
    };
    auto up = [n](std::uint64_t c) { return (c + 1) % n; };
    auto down = [n](std::uint64_t c) { return (c + n - 1) % n; };
    return std::array<Message, 7>{Message{at(z, y, up(x)), {0, v}},
                                  Message{at(z, y, down(x)), {1, v}},
                                  Message{at(z, up(y), x), {2, v}},
                                  Message{at(z, down(y), x), {3, v}},
                                  Message{at(up(z), y, x), {4, v}},
                                  Message{at(down(z), y, x), {5, v}},
                                  Message{id, {6, v}}};
  });
  auto sums = messages.group_by_key().map(
      [h](const std::pair<std::uint64_t, std::vector<std::pair<int, double>>>& cell) {
        std::array<double, 7> v{};
        for (const auto& [direction, value] : cell.second) v[direction] = value;
        return cell_sums(v[6], (v[1] - v[0]) / (2 * h), (v[3] - v[2]) / (2 * h),
                         (v[5] - v[4]) / (2 * h));
      });
  return sums.reduce(FieldSums::combine, FieldSums{}).stats(double(n * n * n));
}

}  // namespace topo::apps
