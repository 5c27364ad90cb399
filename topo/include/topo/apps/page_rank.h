// SPDX-License-Identifier: GPL-2.0-or-later
//
// PageRank on a directed graph given as (source, target) edges, by
// InterMap: each vertex reads its in-neighbours' rank / out-degree with
// neighbor_reduce, so an iteration is one exchange between the ranks that
// share edges. Dangling vertices (no out-edges) spread their rank evenly;
// ranks sum to 1.
//   rank'(v) = (1 - d) / N + d * (sum over u -> v of rank(u) / out(u)
//                                  + dangling mass / N)
#pragma once

#include "topo/core/dataset.h"
#include "topo/core/exchange.h"
#include "topo/intermap/graph_dataset.h"

#include <cstdint>
#include <utility>
#include <vector>

namespace topo::apps {

using Edge = std::pair<std::uint64_t, std::uint64_t>;  // source -> target

// The in-adjacency graph of the edges (vertex v reads its sources) and
// each local vertex's out-degree.
struct LinkGraph {
  Graph graph;
  std::vector<std::uint64_t> out_degree;  // of local vertices
};

inline LinkGraph link_graph(Context& ctx, const Dataset<Edge>& edges, std::uint64_t vertices) {
  auto to_owner = [&](std::uint64_t v) {
    return static_cast<std::size_t>(Graph::owner_of(v, vertices, ctx.size()));
  };
  std::uint64_t first = Graph::first_of(vertices, ctx.size(), ctx.rank());
  std::uint64_t count = Graph::first_of(vertices, ctx.size(), ctx.rank() + 1) - first;
  std::vector<std::uint64_t> out_degree(count, 0);
  for (const Edge& e :
       shuffle(ctx, edges.local(), [&](const Edge& e) { return to_owner(e.first); }))
    ++out_degree[e.first - first];
  auto incoming = shuffle(ctx, edges.local(), [&](const Edge& e) { return to_owner(e.second); });
  std::vector<std::uint64_t> in_degree(count, 0);
  for (const Edge& e : incoming) ++in_degree[e.second - first];
  std::vector<std::vector<Neighbor>> in(count);
  for (std::uint64_t i = 0; i < count; ++i) in[i].reserve(in_degree[i]);
  for (const Edge& e : incoming) in[e.second - first].push_back({e.first, 1.0});
  return {Graph(ctx, vertices, in), std::move(out_degree)};
}

inline GraphDataset<double> page_rank(const LinkGraph& links, int iterations,
                                      double damping = 0.85) {
  const Graph& g = links.graph;
  Context& ctx = g.context();
  const double n = static_cast<double>(g.vertices());
  GraphDataset<double> rank(g, 1.0 / n);
  GraphDataset<double> share(g);  // rank / out-degree, what neighbours read
  for (int it = 0; it < iterations; ++it) {
    double dangling = 0;
    for (std::uint64_t i = 0; i < g.local_count(); ++i) {
      if (links.out_degree[i] == 0) dangling += rank[i];
      share[i] = links.out_degree[i] ? rank[i] / static_cast<double>(links.out_degree[i]) : 0.0;
    }
    const double base = (1 - damping) / n + damping * ctx.sum_double(dangling) / n;
    auto incoming = share.neighbor_reduce([](double x, double) { return x; },
                                          [](double a, double b) { return a + b; }, 0.0);
    for (std::uint64_t i = 0; i < g.local_count(); ++i) rank[i] = base + damping * incoming[i];
  }
  return rank;
}

}  // namespace topo::apps
