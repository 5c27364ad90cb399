// SPDX-License-Identifier: GPL-2.0-or-later
//
// A graph partitioned over the ranks of a Context: vertex v belongs to the
// rank whose balanced block of ids holds it. Each vertex lists the
// neighbours whose values it reads (for an undirected graph, list each edge
// at both ends), with a weight per edge. Building it is collective: ranks
// tell each owner which of its vertices they read (their ghosts), and an
// MPI distributed-graph communicator joins exactly the ranks that share
// edges, so that later exchanges involve only them.
#pragma once

#include "topo/core/context.h"

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace topo {

struct Neighbor {
  std::uint64_t id;
  double weight = 1.0;
};

class Graph {
 public:
  // adjacency[i]: the neighbours of local vertex first() + i. Throws
  // std::invalid_argument on every rank if any rank names a vertex that
  // does not exist or gives the wrong number of lists.
  Graph(Context& ctx, std::uint64_t vertices, const std::vector<std::vector<Neighbor>>& adjacency);

  // The block of ids rank `rank` owns, for `vertices` over `ranks` ranks.
  static std::uint64_t first_of(std::uint64_t vertices, int ranks, int rank);
  // The rank that owns vertex v.
  static int owner_of(std::uint64_t v, std::uint64_t vertices, int ranks);

  Context& context() const { return *state_->ctx; }
  std::uint64_t vertices() const { return state_->vertices; }
  std::uint64_t first() const { return state_->first; }
  std::uint64_t local_count() const { return state_->count; }
  std::uint64_t ghost_count() const { return state_->ghost_ids.size(); }
  std::uint64_t ghost_id(std::uint64_t g) const { return state_->ghost_ids[g]; }

  // A local vertex's neighbours: slots index the array of local values
  // followed by ghost values.
  struct Edge {
    std::uint64_t slot;
    std::uint64_t id;
    double weight;
  };
  const Edge* edges_begin(std::uint64_t local) const {
    return state_->edges.data() + state_->offsets[local];
  }
  const Edge* edges_end(std::uint64_t local) const {
    return state_->edges.data() + state_->offsets[local + 1];
  }

  // The exchange plan: local indices sent to each destination rank (in the
  // distributed-graph communicator's order) and ghosts received per source.
  const std::vector<std::vector<std::uint64_t>>& sends() const { return state_->sends; }
  const std::vector<std::uint64_t>& receive_counts() const { return state_->receive_counts; }
  MPI_Comm neighborhood() const { return state_->neighborhood; }
  std::size_t neighbor_ranks() const { return state_->destinations.size(); }

 private:
  struct State {
    Context* ctx;
    std::uint64_t vertices = 0, first = 0, count = 0;
    std::vector<std::uint64_t> ghost_ids;
    std::vector<std::uint64_t> offsets;
    std::vector<Edge> edges;
    std::vector<int> sources, destinations;
    std::vector<std::vector<std::uint64_t>> sends;
    std::vector<std::uint64_t> receive_counts;
    MPI_Comm neighborhood = MPI_COMM_NULL;
    ~State();
  };
  std::shared_ptr<State> state_;
};

}  // namespace topo
