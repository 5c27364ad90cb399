// SPDX-License-Identifier: GPL-2.0-or-later
#include "topo/intermap/graph.h"

#include "topo/core/exchange.h"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>

namespace topo {

Graph::State::~State() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (neighborhood != MPI_COMM_NULL && !finalized) MPI_Comm_free(&neighborhood);
}

int Graph::owner_of(std::uint64_t v, std::uint64_t vertices, int ranks) {
  // Blocks are balanced, so v * ranks / vertices is at most one off.
  int r = static_cast<int>(static_cast<unsigned __int128>(v) * ranks / vertices);
  while (r + 1 < ranks && first_of(vertices, ranks, r + 1) <= v) ++r;
  while (r > 0 && first_of(vertices, ranks, r) > v) --r;
  return r;
}

std::uint64_t Graph::first_of(std::uint64_t vertices, int ranks, int rank) {
  return static_cast<std::uint64_t>(static_cast<unsigned __int128>(vertices) * rank / ranks);
}

Graph::Graph(Context& ctx, std::uint64_t vertices,
             const std::vector<std::vector<Neighbor>>& adjacency)
    : state_(std::make_shared<State>()) {
  State& s = *state_;
  s.ctx = &ctx;
  s.vertices = vertices;
  s.first = first_of(vertices, ctx.size(), ctx.rank());
  s.count = first_of(vertices, ctx.size(), ctx.rank() + 1) - s.first;

  // Validate everywhere first, so that all ranks throw together.
  std::string problem;
  if (adjacency.size() != s.count)
    problem = "rank " + std::to_string(ctx.rank()) + " gave " + std::to_string(adjacency.size()) +
              " adjacency lists for its " + std::to_string(s.count) + " vertices";
  for (std::size_t i = 0; i < adjacency.size() && problem.empty(); ++i) {
    for (const Neighbor& n : adjacency[i]) {
      if (n.id >= vertices) {
        problem = "vertex " + std::to_string(s.first + i) + " names neighbour " +
                  std::to_string(n.id) + " of a graph of " + std::to_string(vertices) + " vertices";
        break;
      }
    }
  }
  std::uint64_t bad = problem.empty() ? 0 : 1;
  if (ctx.sum(bad) != 0) {
    throw std::invalid_argument("topo::Graph: " +
                                (problem.empty() ? "another rank's input is wrong" : problem));
  }

  // Ghosts, grouped by owner (in id order within each).
  std::map<int, std::vector<std::uint64_t>> wanted;
  for (const auto& list : adjacency) {
    for (const Neighbor& n : list) {
      if (n.id >= s.first && n.id < s.first + s.count) continue;
      wanted[owner_of(n.id, vertices, ctx.size())].push_back(n.id);
    }
  }
  std::vector<std::vector<char>> requests(ctx.size());
  for (auto& [owner, ids] : wanted) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    requests[owner] = encode(ids);
    s.sources.push_back(owner);
    s.receive_counts.push_back(ids.size());
    s.ghost_ids.insert(s.ghost_ids.end(), ids.begin(), ids.end());
  }
  Received asked = ctx.exchange(requests);
  for (int r = 0; r < ctx.size(); ++r) {
    if (asked.size(r) == 0) continue;
    std::vector<std::uint64_t> ids;
    decode_into(asked.data(r), asked.size(r), ids);
    for (auto& id : ids) id -= s.first;
    s.destinations.push_back(r);
    s.sends.push_back(std::move(ids));
  }

  // Edges as slots into [local values | ghost values]. Owners come in rank
  // order and own increasing ids, so ghost_ids is sorted.
  auto ghost_slot = [&](std::uint64_t id) {
    auto at = std::lower_bound(s.ghost_ids.begin(), s.ghost_ids.end(), id);
    return s.count + static_cast<std::uint64_t>(at - s.ghost_ids.begin());
  };
  std::size_t edge_count = 0;
  for (const auto& list : adjacency) edge_count += list.size();
  s.edges.reserve(edge_count);
  s.offsets.reserve(adjacency.size() + 1);
  s.offsets.push_back(0);
  for (const auto& list : adjacency) {
    for (const Neighbor& n : list) {
      bool local = n.id >= s.first && n.id < s.first + s.count;
      s.edges.push_back({local ? n.id - s.first : ghost_slot(n.id), n.id, n.weight});
    }
    s.offsets.push_back(s.edges.size());
  }

  MPI_Dist_graph_create_adjacent(ctx.comm(), static_cast<int>(s.sources.size()), s.sources.data(),
                                 MPI_UNWEIGHTED, static_cast<int>(s.destinations.size()),
                                 s.destinations.data(), MPI_UNWEIGHTED, MPI_INFO_NULL, 0,
                                 &s.neighborhood);
}

}  // namespace topo
