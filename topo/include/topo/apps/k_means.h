// SPDX-License-Identifier: GPL-2.0-or-later
//
// KMeans (Lloyd's algorithm) on points of D dimensions. Each iteration every
// rank assigns its points to the nearest centre and sums them per cluster
// (map_partitions), reduce_by_key adds the partial sums of each cluster,
// and every rank gets the new centres. A cluster that loses all its points
// keeps its centre. Stops after `iterations` or when no centre moves more
// than `tolerance`.
#pragma once

#include "topo/core/dataset.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace topo::apps {

template <std::size_t D>
using Point = std::array<double, D>;

template <std::size_t D>
std::size_t nearest(const Point<D>& p, const std::vector<Point<D>>& centers) {
  std::size_t best = 0;
  double best_d2 = std::numeric_limits<double>::infinity();
  for (std::size_t c = 0; c < centers.size(); ++c) {
    double d2 = 0;
    for (std::size_t k = 0; k < D; ++k) d2 += (p[k] - centers[c][k]) * (p[k] - centers[c][k]);
    if (d2 < best_d2) best_d2 = d2, best = c;
  }
  return best;
}

template <std::size_t D>
struct KMeansResult {
  std::vector<Point<D>> centers;
  int iterations = 0;
};

template <std::size_t D>
KMeansResult<D> k_means(const Dataset<Point<D>>& points, std::vector<Point<D>> centers,
                        int iterations, double tolerance = 0) {
  using Sum = std::pair<Point<D>, std::uint64_t>;
  KMeansResult<D> result;
  for (; result.iterations < iterations;) {
    ++result.iterations;
    auto sums = points
                    .map_partitions([&](const std::vector<Point<D>>& part) {
                      std::vector<Sum> partial(centers.size(), Sum{Point<D>{}, 0});
                      for (const auto& p : part) {
                        Sum& s = partial[nearest(p, centers)];
                        for (std::size_t k = 0; k < D; ++k) s.first[k] += p[k];
                        ++s.second;
                      }
                      std::vector<std::pair<std::uint64_t, Sum>> out;
                      for (std::size_t c = 0; c < partial.size(); ++c)
                        if (partial[c].second) out.emplace_back(c, partial[c]);
                      return out;
                    })
                    .reduce_by_key([](Sum a, const Sum& b) {
                      for (std::size_t k = 0; k < D; ++k) a.first[k] += b.first[k];
                      a.second += b.second;
                      return a;
                    })
                    .collect();
    double moved = 0;
    for (const auto& [c, s] : sums) {
      Point<D> next;
      double d2 = 0;
      for (std::size_t k = 0; k < D; ++k) {
        next[k] = s.first[k] / static_cast<double>(s.second);
        d2 += (next[k] - centers[c][k]) * (next[k] - centers[c][k]);
      }
      centers[c] = next;
      moved = std::max(moved, std::sqrt(d2));
    }
    if (moved <= tolerance) break;
  }
  result.centers = std::move(centers);
  return result;
}

}  // namespace topo::apps
