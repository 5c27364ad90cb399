// SPDX-License-Identifier: GPL-2.0-or-later
//
// An n-dimensional grid partitioned over the ranks of a Context in blocks
// (an MPI Cartesian communicator picks the process grid), each block padded
// by a halo of `halo` cells per side. GridDataset<T> holds one value per cell.
#pragma once

#include "topo/core/context.h"

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace topo {

class Grid {
 public:
  // extents: cells per dimension; periodic: per dimension (wrap around).
  // Collective. Throws std::invalid_argument if a block would be thinner
  // than the halo along some dimension.
  Grid(Context& ctx, std::vector<std::uint64_t> extents, std::vector<bool> periodic, int halo = 1);

  Context& context() const { return *state_->ctx; }
  int dims() const { return static_cast<int>(state_->extents.size()); }
  int halo() const { return state_->halo; }
  std::uint64_t extent(int d) const { return state_->extents[d]; }
  bool periodic(int d) const { return state_->periodic[d]; }
  std::uint64_t cells() const;  // in the whole grid

  // This rank's block: its first cell's global coordinates and its size.
  std::uint64_t origin(int d) const { return state_->origin[d]; }
  std::uint64_t block(int d) const { return state_->block[d]; }
  std::uint64_t block_cells() const;

  // The padded block (halo included), row-major, last dimension fastest.
  std::uint64_t padded(int d) const { return state_->block[d] + 2 * state_->halo; }
  std::uint64_t padded_cells() const;
  std::uint64_t stride(int d) const { return state_->stride[d]; }
  std::span<const std::uint64_t> strides() const { return state_->stride; }
  // Index in the padded block of interior cell `local` (0-based, no halo).
  std::uint64_t index(std::span<const std::uint64_t> local) const;

  // Neighbouring ranks along dimension d (MPI_PROC_NULL past a
  // non-periodic edge).
  int lower(int d) const { return state_->lower[d]; }
  int upper(int d) const { return state_->upper[d]; }
  MPI_Comm cart() const { return state_->cart; }

  // The same blocks, every rank's: origin and size per dimension.
  std::vector<std::vector<std::uint64_t>> origins_of_all() const;
  std::vector<std::vector<std::uint64_t>> blocks_of_all() const;

 private:
  struct State {
    Context* ctx;
    std::vector<std::uint64_t> extents;
    std::vector<bool> periodic;
    int halo;
    std::vector<int> process_dims;
    std::vector<std::uint64_t> origin, block, stride;
    std::vector<int> lower, upper;
    MPI_Comm cart = MPI_COMM_NULL;
    ~State();
  };
  std::shared_ptr<State> state_;
};

}  // namespace topo
