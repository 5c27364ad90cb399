// SPDX-License-Identifier: GPL-2.0-or-later
#include "topo/intermap/grid.h"

#include "topo/core/exchange.h"

#include <stdexcept>
#include <string>

namespace topo {

Grid::State::~State() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (cart != MPI_COMM_NULL && !finalized) MPI_Comm_free(&cart);
}

Grid::Grid(Context& ctx, std::vector<std::uint64_t> extents, std::vector<bool> periodic, int halo)
    : state_(std::make_shared<State>()) {
  const int n = static_cast<int>(extents.size());
  if (n == 0) throw std::invalid_argument("topo::Grid: no dimensions");
  if (periodic.size() != extents.size())
    throw std::invalid_argument("topo::Grid: " + std::to_string(periodic.size()) +
                                " periodic flags for " + std::to_string(n) + " dimensions");
  if (halo < 0) throw std::invalid_argument("topo::Grid: negative halo");
  State& s = *state_;
  s.ctx = &ctx;
  s.extents = std::move(extents);
  s.periodic = std::move(periodic);
  s.halo = halo;
  s.process_dims.assign(n, 0);
  MPI_Dims_create(ctx.size(), n, s.process_dims.data());
  // Every rank checks every block (they follow from the process grid), so
  // all of them throw or none does.
  for (int d = 0; d < n; ++d) {
    std::uint64_t thinnest = s.extents[d] / s.process_dims[d];
    if (thinnest < static_cast<std::uint64_t>(std::max(halo, 1)))
      throw std::invalid_argument(
          "topo::Grid: dimension " + std::to_string(d) + " has " + std::to_string(s.extents[d]) +
          " cells for " + std::to_string(s.process_dims[d]) + " ranks: a block of " +
          std::to_string(thinnest) + " is thinner than the halo of " + std::to_string(halo));
  }
  std::vector<int> periods(n);
  for (int d = 0; d < n; ++d) periods[d] = s.periodic[d] ? 1 : 0;
  // No reordering: rank r of the grid is rank r of the Context.
  MPI_Cart_create(ctx.comm(), n, s.process_dims.data(), periods.data(), 0, &s.cart);
  std::vector<int> coords(n);
  MPI_Cart_coords(s.cart, ctx.rank(), n, coords.data());
  s.origin.resize(n);
  s.block.resize(n);
  s.lower.resize(n);
  s.upper.resize(n);
  for (int d = 0; d < n; ++d) {
    auto bounds = balanced_bounds(s.extents[d], s.process_dims[d]);
    s.origin[d] = bounds[coords[d]];
    s.block[d] = bounds[coords[d] + 1] - bounds[coords[d]];
    MPI_Cart_shift(s.cart, d, 1, &s.lower[d], &s.upper[d]);
  }
  s.stride.assign(n, 1);
  for (int d = n - 2; d >= 0; --d) s.stride[d] = s.stride[d + 1] * (s.block[d + 1] + 2 * halo);
}

std::uint64_t Grid::cells() const {
  std::uint64_t n = 1;
  for (auto e : state_->extents) n *= e;
  return n;
}

std::uint64_t Grid::block_cells() const {
  std::uint64_t n = 1;
  for (auto b : state_->block) n *= b;
  return n;
}

std::uint64_t Grid::padded_cells() const {
  std::uint64_t n = 1;
  for (int d = 0; d < dims(); ++d) n *= padded(d);
  return n;
}

std::uint64_t Grid::index(std::span<const std::uint64_t> local) const {
  std::uint64_t at = 0;
  for (int d = 0; d < dims(); ++d) at += (local[d] + state_->halo) * state_->stride[d];
  return at;
}

std::vector<std::vector<std::uint64_t>> Grid::origins_of_all() const {
  std::vector<std::vector<std::uint64_t>> all(context().size());
  for (int r = 0; r < context().size(); ++r) {
    std::vector<int> coords(dims());
    MPI_Cart_coords(state_->cart, r, dims(), coords.data());
    for (int d = 0; d < dims(); ++d)
      all[r].push_back(balanced_bounds(extent(d), state_->process_dims[d])[coords[d]]);
  }
  return all;
}

std::vector<std::vector<std::uint64_t>> Grid::blocks_of_all() const {
  std::vector<std::vector<std::uint64_t>> all(context().size());
  for (int r = 0; r < context().size(); ++r) {
    std::vector<int> coords(dims());
    MPI_Cart_coords(state_->cart, r, dims(), coords.data());
    for (int d = 0; d < dims(); ++d) {
      auto bounds = balanced_bounds(extent(d), state_->process_dims[d]);
      all[r].push_back(bounds[coords[d] + 1] - bounds[coords[d]]);
    }
  }
  return all;
}

}  // namespace topo
