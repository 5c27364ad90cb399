// SPDX-License-Identifier: GPL-2.0-or-later
//
// mpi-hello: every rank reports where it runs, then all ranks agree on an
// allreduce. Used by the integration tests (srun --mpi=pmix) and the demo.
// Prints one line per rank from rank 0 and "allreduce OK sum=S" when the sum
// of ranks matches n(n-1)/2 on every rank; exits non-zero otherwise.
#include <mpi.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);

  constexpr int kLine = 160;
  char line[kLine];
  const char* node = std::getenv("SLURMD_NODENAME");
  const char* type = std::getenv("CONVERGE_TYPE");
  std::snprintf(line, kLine, "rank %d of %d on node %s (pid %d, converge type %s)", rank, size,
                node ? node : "?", static_cast<int>(getpid()), type ? type : "none");
  std::vector<char> all(static_cast<size_t>(kLine) * size);
  MPI_Gather(line, kLine, MPI_CHAR, all.data(), kLine, MPI_CHAR, 0, MPI_COMM_WORLD);

  long mine = rank, sum = 0;
  MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
  const long expected = static_cast<long>(size) * (size - 1) / 2;
  int ok = sum == expected ? 1 : 0, all_ok = 0;
  MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);

  if (rank == 0) {
    for (int r = 0; r < size; ++r) std::printf("%s\n", &all[static_cast<size_t>(r) * kLine]);
    std::printf("allreduce %s sum=%ld expected=%ld\n", all_ok ? "OK" : "FAILED", sum, expected);
  }
  MPI_Finalize();
  return all_ok ? 0 : 1;
}
