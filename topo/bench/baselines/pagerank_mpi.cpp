// SPDX-License-Identifier: GPL-2.0-or-later
//
// PageRank written directly on MPI, the straightforward way: edges go to
// the owners of their targets (and of their sources, for the out-degrees)
// once; every iteration each rank publishes rank / out-degree of its
// vertices and gathers everyone's (MPI_Allgatherv), then sums its in-edges.
//   mpiexec -n P pagerank-mpi EDGES VERTICES [ITERATIONS]
#include "mpi_common.h"

#include <algorithm>

namespace {

struct Edge {
  std::uint64_t source, target;
};

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int status = 0;
  try {
    if (argc < 3) throw std::invalid_argument("usage: pagerank-mpi EDGES VERTICES [ITERATIONS]");
    const std::uint64_t n = std::stoull(argv[2]);
    const int iterations = argc > 3 ? std::stoi(argv[3]) : 20;
    const int p = baseline::ranks(), me = baseline::rank();
    auto first_of = [&](int r) { return n * std::uint64_t(r) / std::uint64_t(p); };
    auto owner = [&](std::uint64_t v) {
      int r = static_cast<int>(v * std::uint64_t(p) / n);
      while (r + 1 < p && first_of(r + 1) <= v) ++r;
      while (first_of(r) > v) --r;
      return r;
    };
    MPI_Barrier(MPI_COMM_WORLD);
    double start = MPI_Wtime();
    auto edges = baseline::read_block<Edge>(argv[1]);
    // Send each edge to an owner: by source (out-degrees), by target (in-edges).
    auto exchange = [&](bool by_target) {
      std::vector<std::vector<Edge>> out(p);
      for (const Edge& e : edges) out[owner(by_target ? e.target : e.source)].push_back(e);
      std::vector<int> sc(p), rc(p), sd(p), rd(p);
      std::vector<Edge> send;
      for (int r = 0; r < p; ++r) {
        sd[r] = static_cast<int>(send.size() * sizeof(Edge));
        sc[r] = static_cast<int>(out[r].size() * sizeof(Edge));
        send.insert(send.end(), out[r].begin(), out[r].end());
      }
      MPI_Alltoall(sc.data(), 1, MPI_INT, rc.data(), 1, MPI_INT, MPI_COMM_WORLD);
      int total = 0;
      for (int r = 0; r < p; ++r) rd[r] = total, total += rc[r];
      std::vector<Edge> recv(static_cast<std::size_t>(total) / sizeof(Edge));
      MPI_Alltoallv(send.data(), sc.data(), sd.data(), MPI_BYTE, recv.data(), rc.data(), rd.data(),
                    MPI_BYTE, MPI_COMM_WORLD);
      return recv;
    };
    const std::uint64_t first = first_of(me), count = first_of(me + 1) - first;
    std::vector<std::uint64_t> out_degree(count, 0);
    for (const Edge& e : exchange(false)) ++out_degree[e.source - first];
    std::vector<Edge> in = exchange(true);
    std::sort(in.begin(), in.end(),
              [](const Edge& a, const Edge& b) { return a.target < b.target; });
    std::vector<int> counts(p), displs(p);
    for (int r = 0; r < p; ++r) {
      counts[r] = static_cast<int>(first_of(r + 1) - first_of(r));
      displs[r] = static_cast<int>(first_of(r));
    }
    std::vector<double> rank(count, 1.0 / double(n)), share(count), all(n);
    const double d = 0.85;
    for (int it = 0; it < iterations; ++it) {
      double dangling = 0, total_dangling = 0;
      for (std::uint64_t i = 0; i < count; ++i) {
        if (!out_degree[i]) dangling += rank[i];
        share[i] = out_degree[i] ? rank[i] / double(out_degree[i]) : 0.0;
      }
      MPI_Allreduce(&dangling, &total_dangling, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
      MPI_Allgatherv(share.data(), static_cast<int>(count), MPI_DOUBLE, all.data(), counts.data(),
                     displs.data(), MPI_DOUBLE, MPI_COMM_WORLD);
      const double base = (1 - d) / double(n) + d * total_dangling / double(n);
      std::fill(rank.begin(), rank.end(), base);
      for (const Edge& e : in) rank[e.target - first] += d * all[e.source];
    }
    double sum = 0, total = 0;
    for (double r : rank) sum += r;
    MPI_Allreduce(&sum, &total, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    std::vector<std::pair<double, std::string>> entries;
    for (std::uint64_t i = 0; i < count; ++i)
      entries.emplace_back(rank[i], std::to_string(first + i));
    std::string top = baseline::top_list(std::move(entries), 5);
    double seconds = MPI_Wtime() - start;
    baseline::report("pagerank", seconds,
                     "\"rank_sum\":" + std::to_string(total) + ",\"top\":" + top);
  } catch (const std::exception& e) {
    if (baseline::rank() == 0) std::fprintf(stderr, "pagerank-mpi: %s\n", e.what());
    status = 1;
  }
  MPI_Finalize();
  return status;
}
