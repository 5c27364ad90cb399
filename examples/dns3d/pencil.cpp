// SPDX-License-Identifier: GPL-2.0-or-later
#include "pencil.h"

#include <fftw3.h>

#include <stdexcept>
#include <string>

namespace dns3d {

PencilGrid::PencilGrid(int n_, int p1_, int p2_, MPI_Comm world) : n(n_), p1(p1_), p2(p2_) {
  int size = 0;
  MPI_Comm_size(world, &size);
  if (p1 * p2 != size)
    throw std::invalid_argument("process grid " + std::to_string(p1) + "x" + std::to_string(p2) +
                                " does not match " + std::to_string(size) + " ranks");
  if (n % p1 != 0 || n % p2 != 0)
    throw std::invalid_argument("grid size " + std::to_string(n) +
                                " is not divisible by the process grid");
  int dims[2] = {p1, p2}, periods[2] = {1, 1};
  MPI_Cart_create(world, 2, dims, periods, 0, &cart);
  MPI_Comm_rank(cart, &rank);
  int coords[2];
  MPI_Cart_coords(cart, rank, 2, coords);
  c1 = coords[0];
  c2 = coords[1];
  int keep_row[2] = {1, 0}, keep_col[2] = {0, 1};
  MPI_Cart_sub(cart, keep_row, &row);
  MPI_Cart_sub(cart, keep_col, &col);
}

PencilGrid::~PencilGrid() {
  for (MPI_Comm* c : {&row, &col, &cart}) {
    if (*c != MPI_COMM_NULL) MPI_Comm_free(c);
  }
}

PencilFft::PencilFft(const PencilGrid& grid) : grid_(grid) {
  send_.resize(grid.pencil_size());
  receive_.resize(grid.pencil_size());
  // Every pencil has the same number of lines of length n along its contiguous axis.
  int n = grid.n;
  int lines = static_cast<int>(grid.pencil_size() / n);
  std::vector<Complex> scratch(grid.pencil_size());
  auto* p = reinterpret_cast<fftw_complex*>(scratch.data());
  forward_plan_ = fftw_plan_many_dft(1, &n, lines, p, nullptr, 1, n, p, nullptr, 1, n, FFTW_FORWARD,
                                     FFTW_ESTIMATE);
  backward_plan_ = fftw_plan_many_dft(1, &n, lines, p, nullptr, 1, n, p, nullptr, 1, n,
                                      FFTW_BACKWARD, FFTW_ESTIMATE);
}

PencilFft::~PencilFft() {
  fftw_destroy_plan(static_cast<fftw_plan>(forward_plan_));
  fftw_destroy_plan(static_cast<fftw_plan>(backward_plan_));
}

void PencilFft::transform_lines(std::vector<Complex>& data, int sign) {
  auto plan = static_cast<fftw_plan>(sign < 0 ? forward_plan_ : backward_plan_);
  auto* p = reinterpret_cast<fftw_complex*>(data.data());
  fftw_execute_dft(plan, p, p);
}

// x-pencil -> y-pencil inside the row communicator: rank j of the row gets
// the x block j of every local (z, y), and sends back its y block.
void PencilFft::x_to_y(std::vector<Complex>& data) {
  const int n = grid_.n, b1 = grid_.b1(), b2 = grid_.b2(), p1 = grid_.p1;
  std::size_t chunk = std::size_t(b2) * b1 * b1;
  for (int j = 0; j < p1; ++j)
    for (int z = 0; z < b2; ++z)
      for (int y = 0; y < b1; ++y)
        for (int x = 0; x < b1; ++x)
          send_[j * chunk + (std::size_t(z) * b1 + y) * b1 + x] =
              data[(std::size_t(z) * b1 + y) * n + j * b1 + x];
  MPI_Alltoall(send_.data(), static_cast<int>(chunk), MPI_CXX_DOUBLE_COMPLEX, receive_.data(),
               static_cast<int>(chunk), MPI_CXX_DOUBLE_COMPLEX, grid_.row);
  for (int j = 0; j < p1; ++j)  // from rank j: its y block j, our x block
    for (int z = 0; z < b2; ++z)
      for (int y = 0; y < b1; ++y)
        for (int x = 0; x < b1; ++x)
          data[(std::size_t(z) * b1 + x) * n + j * b1 + y] =
              receive_[j * chunk + (std::size_t(z) * b1 + y) * b1 + x];
}

void PencilFft::y_to_x(std::vector<Complex>& data) {
  const int n = grid_.n, b1 = grid_.b1(), b2 = grid_.b2(), p1 = grid_.p1;
  std::size_t chunk = std::size_t(b2) * b1 * b1;
  for (int j = 0; j < p1; ++j)
    for (int z = 0; z < b2; ++z)
      for (int x = 0; x < b1; ++x)
        for (int y = 0; y < b1; ++y)
          send_[j * chunk + (std::size_t(z) * b1 + y) * b1 + x] =
              data[(std::size_t(z) * b1 + x) * n + j * b1 + y];
  MPI_Alltoall(send_.data(), static_cast<int>(chunk), MPI_CXX_DOUBLE_COMPLEX, receive_.data(),
               static_cast<int>(chunk), MPI_CXX_DOUBLE_COMPLEX, grid_.row);
  for (int j = 0; j < p1; ++j)
    for (int z = 0; z < b2; ++z)
      for (int y = 0; y < b1; ++y)
        for (int x = 0; x < b1; ++x)
          data[(std::size_t(z) * b1 + y) * n + j * b1 + x] =
              receive_[j * chunk + (std::size_t(z) * b1 + y) * b1 + x];
}

// y-pencil -> z-pencil inside the column communicator: rank j of the
// column gets the y block j of every local (z, x), and sends its z block.
void PencilFft::y_to_z(std::vector<Complex>& data) {
  const int n = grid_.n, b1 = grid_.b1(), b2 = grid_.b2(), p2 = grid_.p2;
  std::size_t chunk = std::size_t(b2) * b1 * b2;
  for (int j = 0; j < p2; ++j)
    for (int z = 0; z < b2; ++z)
      for (int x = 0; x < b1; ++x)
        for (int y = 0; y < b2; ++y)
          send_[j * chunk + (std::size_t(z) * b1 + x) * b2 + y] =
              data[(std::size_t(z) * b1 + x) * n + j * b2 + y];
  MPI_Alltoall(send_.data(), static_cast<int>(chunk), MPI_CXX_DOUBLE_COMPLEX, receive_.data(),
               static_cast<int>(chunk), MPI_CXX_DOUBLE_COMPLEX, grid_.col);
  for (int j = 0; j < p2; ++j)  // from rank j: its z block j, our y block
    for (int z = 0; z < b2; ++z)
      for (int x = 0; x < b1; ++x)
        for (int y = 0; y < b2; ++y)
          data[(std::size_t(y) * b1 + x) * n + j * b2 + z] =
              receive_[j * chunk + (std::size_t(z) * b1 + x) * b2 + y];
}

void PencilFft::z_to_y(std::vector<Complex>& data) {
  const int n = grid_.n, b1 = grid_.b1(), b2 = grid_.b2(), p2 = grid_.p2;
  std::size_t chunk = std::size_t(b2) * b1 * b2;
  for (int j = 0; j < p2; ++j)
    for (int y = 0; y < b2; ++y)
      for (int x = 0; x < b1; ++x)
        for (int z = 0; z < b2; ++z)
          send_[j * chunk + (std::size_t(z) * b1 + x) * b2 + y] =
              data[(std::size_t(y) * b1 + x) * n + j * b2 + z];
  MPI_Alltoall(send_.data(), static_cast<int>(chunk), MPI_CXX_DOUBLE_COMPLEX, receive_.data(),
               static_cast<int>(chunk), MPI_CXX_DOUBLE_COMPLEX, grid_.col);
  for (int j = 0; j < p2; ++j)
    for (int z = 0; z < b2; ++z)
      for (int x = 0; x < b1; ++x)
        for (int y = 0; y < b2; ++y)
          data[(std::size_t(z) * b1 + x) * n + j * b2 + y] =
              receive_[j * chunk + (std::size_t(z) * b1 + x) * b2 + y];
}

void PencilFft::forward(std::vector<Complex>& data) {
  transform_lines(data, -1);  // along x
  x_to_y(data);
  transform_lines(data, -1);  // along y
  y_to_z(data);
  transform_lines(data, -1);  // along z
}

void PencilFft::backward(std::vector<Complex>& data) {
  transform_lines(data, +1);
  z_to_y(data);
  transform_lines(data, +1);
  y_to_x(data);
  transform_lines(data, +1);
  double scale = 1.0 / (double(grid_.n) * grid_.n * grid_.n);
  for (auto& v : data) v *= scale;
}

void PencilFft::solve_poisson(const std::vector<double>& f, std::vector<double>& phi) {
  const int n = grid_.n, b1 = grid_.b1(), b2 = grid_.b2();
  std::vector<Complex> data(f.begin(), f.end());
  forward(data);
  auto wavenumber = [n](int i) { return double(i < n / 2 ? i : i - n); };  // domain length 2 pi
  for (int y = 0; y < b2; ++y) {
    double ky = wavenumber(grid_.c2 * b2 + y);
    for (int x = 0; x < b1; ++x) {
      double kx = wavenumber(grid_.c1 * b1 + x);
      for (int z = 0; z < n; ++z) {
        double kz = wavenumber(z);
        double k2 = kx * kx + ky * ky + kz * kz;
        auto& v = data[(std::size_t(y) * b1 + x) * n + z];
        v = k2 == 0 ? Complex{} : -v / k2;
      }
    }
  }
  backward(data);
  phi.resize(data.size());
  for (std::size_t i = 0; i < data.size(); ++i) phi[i] = data[i].real();
}

}  // namespace dns3d
