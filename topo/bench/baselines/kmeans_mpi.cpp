// SPDX-License-Identifier: GPL-2.0-or-later
//
// KMeans (Lloyd) written directly on MPI: each rank assigns its block of
// points and sums them per cluster; one MPI_Allreduce per iteration adds
// the sums. Initial centres: the first K points.
//   mpiexec -n P kmeans-mpi POINTS DIMS K [ITERATIONS]
#include "mpi_common.h"

#include <array>
#include <limits>

namespace {

template <std::size_t D>
std::string run(const std::string& path, std::size_t k, int iterations) {
  using Point = std::array<double, D>;
  auto points = baseline::read_block<Point>(path);
  std::vector<Point> centers(k);
  // The first k points: on rank 0 when its block holds them.
  if (baseline::rank() == 0) {
    if (points.size() < k) throw std::invalid_argument("rank 0 holds fewer than K points");
    std::copy(points.begin(), points.begin() + long(k), centers.begin());
  }
  MPI_Bcast(centers.data(), static_cast<int>(k * D), MPI_DOUBLE, 0, MPI_COMM_WORLD);
  std::vector<double> sums(k * (D + 1)), total(k * (D + 1));
  for (int it = 0; it < iterations; ++it) {
    std::fill(sums.begin(), sums.end(), 0.0);
    for (const Point& x : points) {
      std::size_t best = 0;
      double best_d2 = std::numeric_limits<double>::infinity();
      for (std::size_t c = 0; c < k; ++c) {
        double d2 = 0;
        for (std::size_t j = 0; j < D; ++j) d2 += (x[j] - centers[c][j]) * (x[j] - centers[c][j]);
        if (d2 < best_d2) best_d2 = d2, best = c;
      }
      for (std::size_t j = 0; j < D; ++j) sums[best * (D + 1) + j] += x[j];
      sums[best * (D + 1) + D] += 1;
    }
    MPI_Allreduce(sums.data(), total.data(), static_cast<int>(sums.size()), MPI_DOUBLE, MPI_SUM,
                  MPI_COMM_WORLD);
    for (std::size_t c = 0; c < k; ++c) {
      double count = total[c * (D + 1) + D];
      if (count == 0) continue;
      for (std::size_t j = 0; j < D; ++j) centers[c][j] = total[c * (D + 1) + j] / count;
    }
  }
  return "\"first_center\":[" + std::to_string(centers[0][0]) + "," +
         std::to_string(centers[0][1]) + "]";
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int status = 0;
  try {
    if (argc < 4) throw std::invalid_argument("usage: kmeans-mpi POINTS DIMS K [ITERATIONS]");
    std::size_t dims = std::stoul(argv[2]), k = std::stoul(argv[3]);
    int iterations = argc > 4 ? std::stoi(argv[4]) : 10;
    MPI_Barrier(MPI_COMM_WORLD);
    double start = MPI_Wtime();
    std::string summary;
    switch (dims) {
      case 2:
        summary = run<2>(argv[1], k, iterations);
        break;
      case 4:
        summary = run<4>(argv[1], k, iterations);
        break;
      case 8:
        summary = run<8>(argv[1], k, iterations);
        break;
      default:
        throw std::invalid_argument("DIMS: 2, 4 or 8");
    }
    double seconds = MPI_Wtime() - start;
    baseline::report("kmeans", seconds, summary);
  } catch (const std::exception& e) {
    if (baseline::rank() == 0) std::fprintf(stderr, "kmeans-mpi: %s\n", e.what());
    status = 1;
  }
  MPI_Finalize();
  return status;
}
