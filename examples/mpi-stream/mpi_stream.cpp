// SPDX-License-Identifier: GPL-2.0-or-later
//
// mpi-stream: a communication-heavy job, the noisy neighbour of the placement
// benchmark (slurm-plugins/bench/placement.sh). Rank r exchanges blocks with
// rank (r + size/2) mod size as fast as the network lets it, both ways at
// once, so a job whose halves sit under different leaf switches fills their
// uplinks, as a shuffle or a checkpoint to a remote tier would. Runs for
// --seconds (0: until killed) and prints the rate each pair reached.
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Options {
  double seconds = 0;
  long block_kib = 1024;
};

[[noreturn]] void usage_error(int rank, const std::string& message) {
  if (rank == 0) std::fprintf(stderr, "mpi-stream: %s (see --help)\n", message.c_str());
  MPI_Finalize();
  std::exit(2);
}

Options parse(int argc, char** argv, int rank) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help") {
      if (rank == 0)
        std::printf(
            "usage: mpi-stream [--seconds S] [--block-kib K]\n"
            "Rank r exchanges K KiB blocks with rank r + size/2 for S seconds (0: until "
            "killed).\n");
      MPI_Finalize();
      std::exit(0);
    }
    if (i + 1 >= argc) usage_error(rank, arg + " needs a value");
    char* end = nullptr;
    double v = std::strtod(argv[++i], &end);
    if (*end || v < 0) usage_error(rank, "bad value for " + arg);
    if (arg == "--seconds")
      o.seconds = v;
    else if (arg == "--block-kib" && v >= 1 && v <= 1 << 20)
      o.block_kib = static_cast<long>(v);
    else
      usage_error(rank, "unknown option or bad value: " + arg);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  Options o = parse(argc, argv, rank);
  if (size < 2) usage_error(rank, "needs at least 2 ranks");

  // With an odd count the last rank has no partner and only waits.
  const int paired = size - size % 2;
  const int partner = rank < paired ? (rank + paired / 2) % paired : -1;
  const std::size_t bytes = static_cast<std::size_t>(o.block_kib) << 10;
  std::vector<char> out(bytes, static_cast<char>(rank)), in(bytes);

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  long blocks = 0;
  int more = 1;
  while (more) {
    if (partner >= 0) {
      MPI_Sendrecv(out.data(), static_cast<int>(bytes), MPI_CHAR, partner, 0, in.data(),
                   static_cast<int>(bytes), MPI_CHAR, partner, 0, MPI_COMM_WORLD,
                   MPI_STATUS_IGNORE);
      ++blocks;
    }
    // Pairs stop together: the lower rank of each pair decides for both.
    if (o.seconds > 0 && partner >= 0) {
      int go = elapsed() < o.seconds;
      if (rank < partner)
        MPI_Send(&go, 1, MPI_INT, partner, 1, MPI_COMM_WORLD);
      else
        MPI_Recv(&go, 1, MPI_INT, partner, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      more = go;
    } else if (partner < 0) {
      more = 0;
    }
  }
  const double seconds = elapsed();
  const char* node = std::getenv("SLURMD_NODENAME");
  if (partner >= 0 && rank < partner)
    std::printf("mpi-stream: rank %d (%s) <-> rank %d: %.1f MiB each way in %.2f s (%.1f MiB/s)\n",
                rank, node ? node : "?", partner, blocks * (bytes / 1048576.0), seconds,
                blocks * (bytes / 1048576.0) / seconds);
  MPI_Finalize();
  return 0;
}
