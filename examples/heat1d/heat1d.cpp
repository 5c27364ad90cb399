// SPDX-License-Identifier: GPL-2.0-or-later
//
// heat1d: a small MPI simulation for the demo and the tests. Solves
// u_t = alpha * u_xx on [0, 1] with u(0) = u(1) = 0 and u(x, 0) = sin(pi x),
// explicit finite differences on a block decomposition with halo exchange,
// and checks the result against the analytic solution
// u(x, t) = exp(-alpha pi^2 t) sin(pi x). Exits non-zero if the error is
// above the tolerance. (The channel-flow mini-app of a later milestone
// replaces it in the full workflow.)
#include <mpi.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Options {
  long cells = 2048;
  long steps = 20000;
  double alpha = 1.0;
  double tolerance = 1e-4;
};

[[noreturn]] void usage_error(int rank, const char* message) {
  if (rank == 0) std::fprintf(stderr, "heat1d: %s (see --help)\n", message);
  MPI_Finalize();
  std::exit(2);
}

Options parse(int argc, char** argv, int rank) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto number = [&](double min) {
      if (i + 1 >= argc) usage_error(rank, (arg + " needs a value").c_str());
      char* end = nullptr;
      double v = std::strtod(argv[++i], &end);
      if (*end || v < min) usage_error(rank, ("bad value for " + arg).c_str());
      return v;
    };
    if (arg == "--help") {
      if (rank == 0) {
        std::printf(
            "usage: heat1d [--cells N] [--steps N] [--alpha A] [--tolerance T]\n"
            "1-D heat equation over MPI ranks, checked against the analytic solution.\n");
      }
      MPI_Finalize();
      std::exit(0);
    } else if (arg == "--cells") {
      o.cells = static_cast<long>(number(4));
    } else if (arg == "--steps") {
      o.steps = static_cast<long>(number(1));
    } else if (arg == "--alpha") {
      o.alpha = number(1e-12);
    } else if (arg == "--tolerance") {
      o.tolerance = number(0);
    } else {
      usage_error(rank, ("unknown argument " + arg).c_str());
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  Options o = parse(argc, argv, rank);
  if (o.cells < size) usage_error(rank, "fewer cells than ranks");

  // Interior points 1..cells-1 (x = i*h); the block of this rank, plus halos.
  const long interior = o.cells - 1;
  const long first = 1 + interior * rank / size;
  const long last = interior * (rank + 1) / size;  // inclusive
  const long local = last - first + 1;
  const double h = 1.0 / static_cast<double>(o.cells);
  const double dt = 0.4 * h * h / o.alpha;  // stable for explicit FTCS (< 0.5)
  const double pi = std::acos(-1.0);
  std::vector<double> u(local + 2, 0.0), next(local + 2, 0.0);
  for (long i = 0; i < local; ++i) u[i + 1] = std::sin(pi * static_cast<double>(first + i) * h);

  const int left = rank > 0 ? rank - 1 : MPI_PROC_NULL;
  const int right = rank + 1 < size ? rank + 1 : MPI_PROC_NULL;
  const double r = o.alpha * dt / (h * h);
  double start = MPI_Wtime();
  for (long step = 0; step < o.steps; ++step) {
    // Halos: boundary values stay 0 where the neighbour is MPI_PROC_NULL.
    MPI_Sendrecv(&u[1], 1, MPI_DOUBLE, left, 0, &u[local + 1], 1, MPI_DOUBLE, right, 0,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Sendrecv(&u[local], 1, MPI_DOUBLE, right, 1, &u[0], 1, MPI_DOUBLE, left, 1, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
    for (long i = 1; i <= local; ++i) next[i] = u[i] + r * (u[i - 1] - 2 * u[i] + u[i + 1]);
    std::swap(u, next);
  }
  double elapsed = MPI_Wtime() - start;

  const double t = dt * static_cast<double>(o.steps);
  double error = 0;
  for (long i = 0; i < local; ++i) {
    double x = static_cast<double>(first + i) * h;
    error =
        std::max(error, std::fabs(u[i + 1] - std::exp(-o.alpha * pi * pi * t) * std::sin(pi * x)));
  }
  double max_error = 0;
  MPI_Reduce(&error, &max_error, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);

  char where[128];
  const char* node = std::getenv("SLURMD_NODENAME");
  std::snprintf(where, sizeof where, "rank %d: node %s, cells %ld-%ld", rank, node ? node : "?",
                first, last);
  std::vector<char> all(sizeof where * static_cast<size_t>(size));
  MPI_Gather(where, sizeof where, MPI_CHAR, all.data(), sizeof where, MPI_CHAR, 0, MPI_COMM_WORLD);

  int ok = 1;
  if (rank == 0) {
    for (int i = 0; i < size; ++i)
      std::printf("  %s\n", &all[sizeof where * static_cast<size_t>(i)]);
    ok = max_error <= o.tolerance;
    std::printf(
        "heat1d: %ld cells, %ld steps to t=%.4g on %d ranks in %.3f s; max error vs analytic %.3e "
        "(%s)\n",
        o.cells, o.steps, t, size, elapsed, max_error, ok ? "OK" : "ABOVE TOLERANCE");
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  MPI_Finalize();
  return ok ? 0 : 1;
}
