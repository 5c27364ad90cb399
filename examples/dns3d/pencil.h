// SPDX-License-Identifier: GPL-2.0-or-later
//
// A 2D pencil decomposition of an N^3 periodic grid over a P1 x P2 process
// grid, as spectral DNS codes use it. An x-pencil holds every x for a block
// of y (split over P1, the row communicator) and a block of z (split over
// P2, the column communicator); transposes are all-to-alls inside the row or
// the column communicator only, never over all ranks.
#pragma once

#include <mpi.h>

#include <array>
#include <complex>
#include <vector>

namespace dns3d {

using Complex = std::complex<double>;

class PencilGrid {
 public:
  PencilGrid(int n, int p1, int p2, MPI_Comm world);
  ~PencilGrid();
  PencilGrid(const PencilGrid&) = delete;
  PencilGrid& operator=(const PencilGrid&) = delete;

  int n = 0, p1 = 1, p2 = 1;
  int c1 = 0, c2 = 0;  // this rank's coordinates
  // Block sizes: y and x blocks over P1, z and y blocks over P2.
  int b1() const { return n / p1; }
  int b2() const { return n / p2; }
  // Global offsets of this rank's blocks.
  int y0() const { return c1 * b1(); }  // x-pencil: y block
  int z0() const { return c2 * b2(); }  // x-pencil: z block
  std::size_t pencil_size() const { return std::size_t(n) * b1() * b2(); }

  MPI_Comm cart = MPI_COMM_NULL;
  MPI_Comm row = MPI_COMM_NULL;  // ranks sharing c2, varying c1
  MPI_Comm col = MPI_COMM_NULL;  // ranks sharing c1, varying c2
  int rank = 0;
};

// 3D FFTs between x-pencils (physical space) and z-pencils (spectral
// space), built from 1D FFTW transforms and two transposes.
//   x-pencil index: (z * b1 + y) * n + x        y in block c1, z in block c2
//   y-pencil index: (z * b1 + x) * n + y        x in block c1, z in block c2
//   z-pencil index: (y * b1 + x) * n + z        x in block c1, y in block c2
class PencilFft {
 public:
  explicit PencilFft(const PencilGrid& grid);
  ~PencilFft();
  PencilFft(const PencilFft&) = delete;
  PencilFft& operator=(const PencilFft&) = delete;

  void forward(std::vector<Complex>& data);   // x-pencil in, z-pencil out (unnormalised)
  void backward(std::vector<Complex>& data);  // z-pencil in, x-pencil out, divided by n^3

  // Solves lap(phi) = f for periodic f with zero mean: f (x-pencil, real
  // parts) in, phi out. The mean of phi is set to zero.
  void solve_poisson(const std::vector<double>& f, std::vector<double>& phi);

 private:
  void transform_lines(std::vector<Complex>& data, int sign);  // along the contiguous axis
  void x_to_y(std::vector<Complex>& data);
  void y_to_x(std::vector<Complex>& data);
  void y_to_z(std::vector<Complex>& data);
  void z_to_y(std::vector<Complex>& data);

  const PencilGrid& grid_;
  std::vector<Complex> send_, receive_;
  void* forward_plan_ = nullptr;
  void* backward_plan_ = nullptr;
};

}  // namespace dns3d
