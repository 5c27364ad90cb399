// SPDX-License-Identifier: GPL-2.0-or-later
//
// Values on a Grid, and two InterMap operations on them:
//
//  - halo_update(): every halo cell gets the value of the cell it mirrors
//    on the neighbouring block (corners and edges included), or the fill
//    value past a non-periodic edge. Dimension by dimension, each rank
//    swaps slabs with its two neighbours only (MPI_Sendrecv); there is no
//    global barrier or shuffle.
//  - stencil_reduce(f, combine, identity): the same f folded over the grid
//    without storing the results (a map and a reduction in one pass).
//  - stencil_map(f): a halo update, then f(stencil) for every cell, where
//    stencil(o0, o1, ...) is the value at that offset (|o| <= halo), and
//    stencil.inside(o...) says whether the offset is a real cell (false
//    past a non-periodic edge, where the value is the fill value).
//
// docs/topo.md states these semantics in full.
#pragma once

#include "topo/core/context.h"
#include "topo/core/file.h"
#include "topo/core/serialize.h"
#include "topo/find/scheduler.h"
#include "topo/intermap/grid.h"

#include <mpi.h>

#include <array>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace topo {

template <typename T>
class Stencil {
 public:
  Stencil(const Grid& grid, const T* values, std::uint64_t at,
          std::span<const std::uint64_t> global)
      : grid_(grid), values_(values), at_(at), global_(global), strides_(grid.strides().data()) {}

  template <typename... O>
  const T& operator()(O... offset) const {
    const long o[] = {static_cast<long>(offset)...};
    static_assert(sizeof...(O) > 0);
    long at = static_cast<long>(at_);
    for (std::size_t d = 0; d < sizeof...(O); ++d) at += o[d] * static_cast<long>(strides_[d]);
    return values_[at];
  }

  template <typename... O>
  bool inside(O... offset) const {
    const long o[] = {static_cast<long>(offset)...};
    for (std::size_t d = 0; d < sizeof...(O); ++d) {
      if (grid_.periodic(d)) continue;
      long c = static_cast<long>(global_[d]) + o[d];
      if (c < 0 || c >= static_cast<long>(grid_.extent(d))) return false;
    }
    return true;
  }

  const T& center() const { return values_[at_]; }
  std::span<const std::uint64_t> coords() const { return global_; }  // global

 private:
  const Grid& grid_;
  const T* values_;
  std::uint64_t at_;
  std::span<const std::uint64_t> global_;
  const std::uint64_t* strides_;
};

template <typename T>
class GridDataset {
  static_assert(std::is_trivially_copyable_v<T>, "grid cells travel as bytes");

 public:
  GridDataset(Grid grid, T fill = T{})
      : grid_(std::move(grid)), fill_(fill), values_(grid_.padded_cells(), fill) {}

  // f(global coordinates) for every cell.
  template <typename F>
  static GridDataset generate(Grid grid, F f, T fill = T{}) {
    GridDataset g(std::move(grid), fill);
    g.for_each_cell([&](std::uint64_t at, std::span<const std::uint64_t> global) {
      g.values_[at] = f(global);
    });
    return g;
  }

  // The grid's cells from a file holding the whole grid as a row-major
  // array of T (last dimension fastest): each rank reads its block with
  // one collective MPI-IO read through a subarray view.
  static GridDataset read_raw(Grid grid, const std::string& path, T fill = T{}) {
    GridDataset g(std::move(grid), fill);
    const Grid& gr = g.grid_;
    const int n = gr.dims();
    std::vector<int> sizes(n), sub(n), starts(n);
    for (int d = 0; d < n; ++d) {
      sizes[d] = static_cast<int>(gr.extent(d));
      sub[d] = static_cast<int>(gr.block(d));
      starts[d] = static_cast<int>(gr.origin(d));
    }
    // The file view selects this rank's block of the global array; the
    // memory type puts it straight into the padded block's interior.
    std::vector<int> padded(n), halo(n, gr.halo());
    for (int d = 0; d < n; ++d) padded[d] = static_cast<int>(gr.padded(d));
    MPI_Datatype cell, view, interior;
    MPI_Type_contiguous(static_cast<int>(sizeof(T)), MPI_BYTE, &cell);
    MPI_Type_commit(&cell);
    MPI_Type_create_subarray(n, sizes.data(), sub.data(), starts.data(), MPI_ORDER_C, cell, &view);
    MPI_Type_commit(&view);
    MPI_Type_create_subarray(n, padded.data(), sub.data(), halo.data(), MPI_ORDER_C, cell,
                             &interior);
    MPI_Type_commit(&interior);
    std::string problem;
    {
      SharedFile file(gr.context().comm(), path, SharedFile::Mode::read);
      std::uint64_t expected = gr.cells() * sizeof(T);
      if (file.size() != expected)
        problem = path + ": " + std::to_string(file.size()) + " bytes, expected " +
                  std::to_string(expected) + " for the grid";
      else
        file.read_all_through(cell, view, g.values_.data(), interior);
    }
    MPI_Type_free(&interior);
    MPI_Type_free(&view);
    MPI_Type_free(&cell);
    if (!problem.empty()) throw std::runtime_error(problem);
    return g;
  }

  const Grid& grid() const { return grid_; }
  T fill() const { return fill_; }
  // The value of interior cell `local` (0-based in this rank's block).
  T& at(std::span<const std::uint64_t> local) { return values_[grid_.index(local)]; }
  const T& at(std::span<const std::uint64_t> local) const { return values_[grid_.index(local)]; }
  const std::vector<T>& padded() const { return values_; }

  void halo_update() {
    const int h = grid_.halo();
    if (h == 0) return;
    for (int d = 0; d < grid_.dims(); ++d) {
      const std::uint64_t b = grid_.block(d);
      // To the lower neighbour: my first h interior layers; from the upper
      // one: my upper halo. Then the mirror image.
      swap_slab(d, grid_.lower(d), h, grid_.upper(d), b + h);
      swap_slab(d, grid_.upper(d), b, grid_.lower(d), 0);
    }
  }

  // A halo update, then f(const Stencil<T>&) for every cell.
  template <typename F, typename U = std::invoke_result_t<F, const Stencil<T>&>>
  GridDataset<U> stencil_map(F f) {
    halo_update();
    GridDataset<U> out(grid_);
    const T* values = values_.data();
    for_each_cell([&](std::uint64_t at, std::span<const std::uint64_t> global) {
      out.values_mut()[at] = f(Stencil<T>(grid_, values, at, global));
    });
    return out;
  }

  // A halo update, then f(stencil) for every cell folded with `combine`
  // (associative) from `identity`, without storing a grid of results; every
  // rank gets the total. Cells fold in row-major order within each index
  // along dimension 0, those partial results in order, then the ranks' in
  // rank order.
  template <typename F, typename Combine, typename U>
  U stencil_reduce(F f, Combine combine, U identity) {
    halo_update();
    const int n = grid_.dims();
    std::vector<U> partial(n == 1 ? 1 : grid_.block(0), identity);
    const T* values = values_.data();
    const std::uint64_t origin0 = grid_.origin(0);
    for_each_cell([&](std::uint64_t at, std::span<const std::uint64_t> global) {
      U& mine = partial[n == 1 ? 0 : global[0] - origin0];  // one task per index: no race
      mine = combine(mine, f(Stencil<T>(grid_, values, at, global)));
    });
    U rank_total = identity;
    for (const U& p : partial) rank_total = combine(rank_total, p);
    static_assert(std::is_trivially_copyable_v<U>, "stencil_reduce results travel as bytes");
    Received parts = grid_.context().allgather(encode(std::vector<U>{rank_total}));
    U all = identity;
    for (int r = 0; r < grid_.context().size(); ++r) {
      std::vector<U> p;
      decode_into(parts.data(r), parts.size(r), p);
      all = combine(all, p.at(0));
    }
    return all;
  }

  // Every cell in global row-major order, on every rank.
  std::vector<T> collect() const {
    std::vector<T> mine;
    mine.reserve(grid_.block_cells());
    for_each_cell_in_order([&](std::uint64_t at) { mine.push_back(values_[at]); });
    Received parts = grid_.context().allgather(encode(mine));
    auto origins = grid_.origins_of_all(), blocks = grid_.blocks_of_all();
    std::vector<T> all(grid_.cells());
    for (int r = 0; r < grid_.context().size(); ++r) {
      std::vector<T> part;
      decode_into(parts.data(r), parts.size(r), part);
      std::size_t next = 0;
      for_each_coord(blocks[r], [&](std::span<const std::uint64_t> local) {
        std::uint64_t flat = 0;
        for (int d = 0; d < grid_.dims(); ++d)
          flat = flat * grid_.extent(d) + origins[r][d] + local[d];
        all[flat] = part[next++];
      });
    }
    return all;
  }

  template <typename Op>
  T reduce(Op op, T identity) const {
    T mine = identity;
    // In order, on this thread: op need not be commutative.
    for_each_cell_in_order([&](std::uint64_t at) { mine = op(mine, values_[at]); });
    Received parts = grid_.context().allgather(encode(std::vector<T>{mine}));
    T all = identity;
    for (int r = 0; r < grid_.context().size(); ++r) {
      std::vector<T> p;
      decode_into(parts.data(r), parts.size(r), p);
      all = op(all, p.at(0));
    }
    return all;
  }

  std::vector<T>& values_mut() { return values_; }

  // f(padded index) for every interior cell in row-major order, sequentially.
  template <typename F>
  void for_each_cell_in_order(F f) const {
    std::vector<std::uint64_t> sizes(grid_.dims());
    for (int d = 0; d < grid_.dims(); ++d) sizes[d] = grid_.block(d);
    for_each_coord(sizes, [&](std::span<const std::uint64_t> local) { f(grid_.index(local)); });
  }

  // f(padded index, global coordinates) for every interior cell; rows of
  // the first dimension run in parallel on the FinD workers, so f must only
  // write what belongs to its cell.
  template <typename F>
  void for_each_cell(F f) const {
    const int n = grid_.dims();
    const std::uint64_t h = static_cast<std::uint64_t>(grid_.halo());
    const std::uint64_t last = grid_.block(n - 1), last_origin = grid_.origin(n - 1);
    // One task per index along dimension 0; inside, a tight loop along the
    // last dimension (stride 1) for every combination of the others.
    auto rows = [&](std::uint64_t i0) {
      std::vector<std::uint64_t> global(n);
      std::vector<std::uint64_t> middle(n > 2 ? n - 2 : 0);
      for (int d = 1; d + 1 < n; ++d) middle[d - 1] = grid_.block(d);
      auto row = [&](std::uint64_t base) {
        for (std::uint64_t x = 0; x < last; ++x) {
          global[n - 1] = last_origin + x;
          f(base + x, std::span<const std::uint64_t>(global));
        }
      };
      if (n == 1) return row(h);
      global[0] = grid_.origin(0) + i0;
      std::uint64_t base0 = (i0 + h) * grid_.stride(0) + h;
      if (n == 2) return row(base0);
      for_each_coord(middle, [&](std::span<const std::uint64_t> c) {
        std::uint64_t base = base0;
        for (int d = 1; d + 1 < n; ++d) {
          global[d] = grid_.origin(d) + c[d - 1];
          base += (c[d - 1] + h) * grid_.stride(d);
        }
        row(base);
      });
    };
    std::uint64_t outer = n == 1 ? 1 : grid_.block(0);
    grid_.context().local().run(
        [&] { find::parallel_for(0, outer, 1, [&](std::size_t i0) { rows(i0); }); });
  }

 private:
  // g(coords) for every coordinate vector in [0, sizes) row-major.
  template <typename G>
  static void for_each_coord(const std::vector<std::uint64_t>& sizes, G g) {
    for (auto s : sizes)
      if (s == 0) return;
    std::vector<std::uint64_t> c(sizes.size(), 0);
    while (true) {
      g(std::span<const std::uint64_t>(c));
      int d = static_cast<int>(sizes.size()) - 1;
      while (d >= 0 && ++c[d] == sizes[d]) c[d--] = 0;
      if (d < 0) return;
    }
  }

  // The slab of the padded block with coordinate `from`..from+h-1 along d
  // (full padded range along the other dimensions) goes to rank `to`; the
  // slab at `into` comes from rank `source`.
  void swap_slab(int d, int to, std::uint64_t from, int source, std::uint64_t into) {
    const std::uint64_t h = static_cast<std::uint64_t>(grid_.halo());
    std::vector<std::uint64_t> sizes(grid_.dims());
    for (int k = 0; k < grid_.dims(); ++k) sizes[k] = k == d ? h : grid_.padded(k);
    std::vector<T> out, in;
    if (to != MPI_PROC_NULL) {
      for_each_coord(sizes, [&](std::span<const std::uint64_t> c) {
        out.push_back(values_[padded_index(c, d, from)]);
      });
    }
    std::uint64_t slab = 1;
    for (auto s : sizes) slab *= s;
    if (source != MPI_PROC_NULL) in.resize(slab);
    MPI_Sendrecv(out.data(), static_cast<int>(out.size() * sizeof(T)), MPI_BYTE, to, d, in.data(),
                 static_cast<int>(in.size() * sizeof(T)), MPI_BYTE, source, d, grid_.cart(),
                 MPI_STATUS_IGNORE);
    if (source == MPI_PROC_NULL) return;  // past a non-periodic edge: the fill stays
    std::size_t next = 0;
    for_each_coord(sizes, [&](std::span<const std::uint64_t> c) {
      values_[padded_index(c, d, into)] = in[next++];
    });
  }

  std::uint64_t padded_index(std::span<const std::uint64_t> c, int d, std::uint64_t shift) const {
    std::uint64_t at = 0;
    for (int k = 0; k < grid_.dims(); ++k) at += (c[k] + (k == d ? shift : 0)) * grid_.stride(k);
    return at;
  }

  Grid grid_;
  T fill_;
  std::vector<T> values_;
};

}  // namespace topo
