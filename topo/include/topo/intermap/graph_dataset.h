// SPDX-License-Identifier: GPL-2.0-or-later
//
// Values on the vertices of a Graph, and the graph InterMap operations:
//
//  - halo_update(): every ghost (a remote neighbour some local vertex
//    reads) gets its owner's current value, in one
//    MPI_Neighbor_alltoallv over the ranks that share edges.
//  - neighbor_map(f): a halo update, then f(vertex) for every local
//    vertex, where the view gives its id, value and neighbours (id,
//    weight, value) in the order its adjacency list gave them.
//  - neighbor_reduce(msg, combine, identity): a halo update, then for
//    every vertex combine over its neighbours of msg(neighbour value,
//    weight), folded left from `identity` in adjacency order; a vertex
//    without neighbours gets `identity`.
//
// docs/topo.md states these semantics in full.
#pragma once

#include "topo/core/serialize.h"
#include "topo/find/scheduler.h"
#include "topo/intermap/graph.h"

#include <climits>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace topo {

template <typename T>
class Vertex {
 public:
  Vertex(const Graph& graph, const T* values, std::uint64_t local)
      : graph_(graph), values_(values), local_(local) {}

  std::uint64_t id() const { return graph_.first() + local_; }
  const T& value() const { return values_[local_]; }
  std::size_t degree() const {
    return static_cast<std::size_t>(graph_.edges_end(local_) - graph_.edges_begin(local_));
  }
  std::uint64_t neighbor_id(std::size_t i) const { return graph_.edges_begin(local_)[i].id; }
  double weight(std::size_t i) const { return graph_.edges_begin(local_)[i].weight; }
  const T& neighbor_value(std::size_t i) const {
    return values_[graph_.edges_begin(local_)[i].slot];
  }

 private:
  const Graph& graph_;
  const T* values_;
  std::uint64_t local_;
};

template <typename T>
class GraphDataset {
  static_assert(std::is_trivially_copyable_v<T>, "vertex values travel as bytes");

 public:
  explicit GraphDataset(Graph graph, T initial = T{})
      : graph_(std::move(graph)), values_(graph_.local_count() + graph_.ghost_count(), initial) {}

  template <typename F>
  static GraphDataset generate(Graph graph, F f) {
    GraphDataset g(std::move(graph));
    for (std::uint64_t i = 0; i < g.graph_.local_count(); ++i)
      g.values_[i] = f(g.graph_.first() + i);
    return g;
  }

  const Graph& graph() const { return graph_; }
  // Local vertex i (id first() + i).
  T& operator[](std::uint64_t i) { return values_[i]; }
  const T& operator[](std::uint64_t i) const { return values_[i]; }
  // Ghost g's value as of the last halo update (id graph().ghost_id(g)).
  const T& ghost(std::uint64_t g) const { return values_[graph_.local_count() + g]; }

  void halo_update() {
    const auto& sends = graph_.sends();
    std::vector<T> out;
    std::vector<int> send_counts, send_displs, recv_counts, recv_displs;
    for (const auto& list : sends) {
      send_displs.push_back(as_int(out.size() * sizeof(T)));
      for (auto i : list) out.push_back(values_[i]);
      send_counts.push_back(as_int(list.size() * sizeof(T)));
    }
    std::size_t at = 0;
    for (auto n : graph_.receive_counts()) {
      recv_displs.push_back(as_int(at * sizeof(T)));
      recv_counts.push_back(as_int(n * sizeof(T)));
      at += n;
    }
    T* ghosts = values_.data() + graph_.local_count();
    MPI_Neighbor_alltoallv(out.data(), send_counts.data(), send_displs.data(), MPI_BYTE, ghosts,
                           recv_counts.data(), recv_displs.data(), MPI_BYTE, graph_.neighborhood());
  }

  template <typename F, typename U = std::invoke_result_t<F, const Vertex<T>&>>
  GraphDataset<U> neighbor_map(F f) {
    halo_update();
    GraphDataset<U> out(graph_);
    const T* values = values_.data();
    graph_.context().local().run([&] {
      find::parallel_for(0, graph_.local_count(), 256,
                         [&](std::size_t i) { out[i] = f(Vertex<T>(graph_, values, i)); });
    });
    return out;
  }

  template <typename Msg, typename Combine, typename U>
  GraphDataset<U> neighbor_reduce(Msg msg, Combine combine, U identity) {
    return neighbor_map([&](const Vertex<T>& v) {
      U acc = identity;
      for (std::size_t i = 0; i < v.degree(); ++i)
        acc = combine(acc, msg(v.neighbor_value(i), v.weight(i)));
      return acc;
    });
  }

  // Every vertex's value, by id, on every rank.
  std::vector<T> collect() const {
    std::vector<T> mine(values_.begin(), values_.begin() + graph_.local_count());
    Received parts = graph_.context().allgather(encode(mine));
    std::vector<T> all;
    for (int r = 0; r < graph_.context().size(); ++r)
      decode_into(parts.data(r), parts.size(r), all);
    return all;
  }

 private:
  static int as_int(std::size_t n) {
    if (n > static_cast<std::size_t>(INT_MAX))
      throw std::length_error("topo: halo of over 2 GiB for one neighbour");
    return static_cast<int>(n);
  }

  Graph graph_;
  std::vector<T> values_;
};

}  // namespace topo
