// SPDX-License-Identifier: GPL-2.0-or-later
//
// Gaussian belief propagation for A x = b, A symmetric and walk-summable
// (e.g. diagonally dominant, such as a discretised Poisson problem), in two
// formulations of the same synchronous algorithm:
//   gabp_intermap  - vertices read their neighbours' beliefs with
//                    neighbor_map (one exchange between adjacent ranks);
//   gabp_shuffle   - the same update written with flat_map and cogroup,
//                    the way a Spark-style framework must (two shuffles
//                    per iteration).
// Belief of vertex i: precision P_i = A_ii + sum_k P_ki and potential
// h_i = b_i + sum_k h_ki; x_i = h_i / P_i. The message i -> k is
// P_ik = -A_ik^2 / (P_i - P_ki), h_ik = -A_ik (h_i - h_ki) / (P_i - P_ki).
// Both ends of an edge keep both of its messages and compute them alike,
// so vertices only exchange their beliefs.
#pragma once

#include "topo/core/dataset.h"
#include "topo/intermap/graph_dataset.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <vector>

namespace topo::apps {

// Row i of A (its diagonal and off-diagonal entries) and b_i.
struct SparseRow {
  double diag = 0, b = 0;
  std::vector<Neighbor> off;  // (column, A_ik)
};

struct Belief {
  double P = 0, h = 0;
};

struct GaBPResult {
  std::vector<double> x;  // this rank's unknowns (ids first() ..)
  int iterations = 0;
  double change = 0;  // largest |x_i| change in the last iteration
};

// The rows of the 5-point Poisson matrix on an m x m grid with zero
// Dirichlet boundaries (4 on the diagonal, -1 to each grid neighbour),
// b_i = rhs(i), for unknowns [first, last).
template <typename Rhs>
std::vector<SparseRow> poisson_rows(std::uint64_t m, std::uint64_t first, std::uint64_t last,
                                    Rhs rhs) {
  std::vector<SparseRow> rows;
  for (std::uint64_t id = first; id < last; ++id) {
    std::uint64_t r = id / m, c = id % m;
    SparseRow row{4.0, rhs(id), {}};
    if (r > 0) row.off.push_back({id - m, -1.0});
    if (c > 0) row.off.push_back({id - 1, -1.0});
    if (c + 1 < m) row.off.push_back({id + 1, -1.0});
    if (r + 1 < m) row.off.push_back({id + m, -1.0});
    rows.push_back(std::move(row));
  }
  return rows;
}

// One edge's two messages (in: k -> i, out: i -> k), as both ends update them.
struct EdgeMessages {
  double in_P = 0, in_h = 0, out_P = 0, out_h = 0;
};

inline Belief update_edge(const Belief& mine, const Belief& theirs, double a, EdgeMessages& m) {
  double Pi = mine.P - m.in_P, hi = mine.h - m.in_h;
  double Pk = theirs.P - m.out_P, hk = theirs.h - m.out_h;
  m.out_P = -a * a / Pi;
  m.out_h = -a * hi / Pi;
  m.in_P = -a * a / Pk;
  m.in_h = -a * hk / Pk;
  return {m.in_P, m.in_h};
}

inline GaBPResult gabp_intermap(Context& ctx, std::uint64_t n, const std::vector<SparseRow>& rows,
                                int max_iterations, double tolerance) {
  std::vector<std::vector<Neighbor>> adjacency;
  adjacency.reserve(rows.size());
  for (const auto& row : rows) adjacency.push_back(row.off);
  Graph g(ctx, n, adjacency);
  std::vector<EdgeMessages> messages(g.edges_begin(g.local_count()) - g.edges_begin(0));
  GraphDataset<Belief> belief(g);
  for (std::uint64_t i = 0; i < g.local_count(); ++i) belief[i] = {rows[i].diag, rows[i].b};
  GaBPResult result;
  while (result.iterations < max_iterations) {
    ++result.iterations;
    auto next = belief.neighbor_map([&](const Vertex<Belief>& v) {
      std::uint64_t i = v.id() - g.first();
      std::size_t e0 = static_cast<std::size_t>(g.edges_begin(i) - g.edges_begin(0));
      Belief total{rows[i].diag, rows[i].b};
      for (std::size_t j = 0; j < v.degree(); ++j) {
        Belief in = update_edge(v.value(), v.neighbor_value(j), v.weight(j), messages[e0 + j]);
        total.P += in.P;
        total.h += in.h;
      }
      return total;
    });
    double change = 0;
    for (std::uint64_t i = 0; i < g.local_count(); ++i)
      change = std::max(change, std::abs(next[i].h / next[i].P - belief[i].h / belief[i].P));
    belief = std::move(next);
    result.change = ctx.max_double(change);
    if (result.change <= tolerance) break;
  }
  for (std::uint64_t i = 0; i < g.local_count(); ++i) result.x.push_back(belief[i].h / belief[i].P);
  return result;
}

// ---- The same algorithm with shuffles ----------------------------------

struct EdgeState {
  std::uint64_t k;
  double a;
  EdgeMessages m;
};

struct VertexState {
  double diag = 0, b = 0;
  Belief belief;
  std::vector<EdgeState> edges;
};

}  // namespace topo::apps

namespace topo {

// VertexState travels field by field.
template <>
inline void Writer::put(const apps::VertexState& s) {
  put(s.diag);
  put(s.b);
  put(s.belief);
  put(s.edges);
}
template <>
inline apps::VertexState Reader::get<apps::VertexState>() {
  apps::VertexState s;
  s.diag = get<double>();
  s.b = get<double>();
  s.belief = get<apps::Belief>();
  s.edges = get<std::vector<apps::EdgeState>>();
  return s;
}

}  // namespace topo

namespace topo::apps {

inline GaBPResult gabp_shuffle(Context& ctx, std::uint64_t n, const std::vector<SparseRow>& rows,
                               int max_iterations, double tolerance) {
  std::uint64_t first = ctx.exclusive_sum(rows.size());
  (void)n;
  std::vector<std::pair<std::uint64_t, VertexState>> initial;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    VertexState s{rows[i].diag, rows[i].b, {rows[i].diag, rows[i].b}, {}};
    for (const Neighbor& nb : rows[i].off) s.edges.push_back({nb.id, nb.weight, {}});
    initial.emplace_back(first + i, std::move(s));
  }
  using State = std::pair<std::uint64_t, VertexState>;
  Dataset<State> states(ctx, std::move(initial));
  GaBPResult result;
  while (result.iterations < max_iterations) {
    ++result.iterations;
    // Every vertex sends its belief to each neighbour: (neighbour, (me, belief)).
    auto beliefs = states.flat_map([](const State& s) {
      std::vector<std::pair<std::uint64_t, std::pair<std::uint64_t, Belief>>> out;
      for (const EdgeState& e : s.second.edges) out.push_back({e.k, {s.first, s.second.belief}});
      return out;
    });
    auto grouped = states.cogroup(beliefs);
    double change = 0;
    std::vector<State> next;
    for (auto& [id, sides] : grouped.local()) {
      if (sides.first.empty()) continue;  // beliefs of a vertex that does not exist here
      VertexState s = sides.first.front();
      std::map<std::uint64_t, Belief> from;
      for (const auto& [k, b] : sides.second) from[k] = b;
      Belief total{s.diag, s.b};
      for (EdgeState& e : s.edges) {
        Belief in = update_edge(s.belief, from.at(e.k), e.a, e.m);
        total.P += in.P;
        total.h += in.h;
      }
      change = std::max(change, std::abs(total.h / total.P - s.belief.h / s.belief.P));
      s.belief = total;
      next.emplace_back(id, std::move(s));
    }
    states = Dataset<State>(ctx, std::move(next));
    result.change = ctx.max_double(change);
    if (result.change <= tolerance) break;
  }
  // Back to id order, in the same blocks as the input rows.
  auto sorted = states.sort([](const State& a, const State& b) { return a.first < b.first; });
  auto bounds = part_bounds(ctx, rows.size());
  std::uint64_t mine = ctx.exclusive_sum(sorted.local().size());
  std::vector<std::pair<std::uint64_t, double>> x;
  for (const auto& [id, s] : sorted.local()) x.emplace_back(id, s.belief.h / s.belief.P);
  auto placed =
      redistribute(ctx, std::vector<Run<std::pair<std::uint64_t, double>>>{{mine, &x}}, bounds);
  for (const auto& [id, value] : placed) result.x.push_back(value);
  return result;
}

}  // namespace topo::apps
