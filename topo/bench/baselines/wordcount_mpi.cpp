// SPDX-License-Identifier: GPL-2.0-or-later
//
// WordCount written directly on MPI: each rank counts the words of its
// lines in a hash table, sends each word's count to the rank its hash
// picks (MPI_Alltoallv), and merges what it receives.
//   mpiexec -n P wordcount-mpi TEXT
#include "mpi_common.h"

#include <cstring>
#include <functional>
#include <string_view>
#include <unordered_map>

namespace {

struct Hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using Counts = std::unordered_map<std::string, std::uint64_t, Hash, std::equal_to<>>;

void add(Counts& counts, std::string_view word, std::uint64_t n) {
  auto it = counts.find(word);
  if (it == counts.end())
    counts.emplace(std::string(word), n);
  else
    it->second += n;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int status = 0;
  try {
    if (argc != 2) throw std::invalid_argument("usage: wordcount-mpi TEXT");
    MPI_Barrier(MPI_COMM_WORLD);
    double start = MPI_Wtime();
    std::string text = baseline::read_lines(argv[1]);
    Counts counts;
    auto space = [](char c) {
      return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    };
    for (std::size_t i = 0; i < text.size();) {
      while (i < text.size() && space(text[i])) ++i;
      std::size_t s = i;
      while (i < text.size() && !space(text[i])) ++i;
      if (i > s) add(counts, std::string_view(text).substr(s, i - s), 1);
    }
    const int p = baseline::ranks();
    std::vector<std::string> out(p);
    for (const auto& [word, n] : counts) {
      std::string& buffer = out[std::hash<std::string_view>{}(word) % p];
      std::uint32_t length = static_cast<std::uint32_t>(word.size());
      buffer.append(reinterpret_cast<const char*>(&length), 4);
      buffer.append(word);
      buffer.append(reinterpret_cast<const char*>(&n), 8);
    }
    std::vector<int> send_counts(p), recv_counts(p), send_displs(p), recv_displs(p);
    std::string send;
    for (int r = 0; r < p; ++r) {
      send_displs[r] = static_cast<int>(send.size());
      send_counts[r] = static_cast<int>(out[r].size());
      send += out[r];
    }
    MPI_Alltoall(send_counts.data(), 1, MPI_INT, recv_counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
    int total = 0;
    for (int r = 0; r < p; ++r) recv_displs[r] = total, total += recv_counts[r];
    std::string recv(static_cast<std::size_t>(total), '\0');
    MPI_Alltoallv(send.data(), send_counts.data(), send_displs.data(), MPI_BYTE, recv.data(),
                  recv_counts.data(), recv_displs.data(), MPI_BYTE, MPI_COMM_WORLD);
    Counts mine;
    for (std::size_t at = 0; at < recv.size();) {
      std::uint32_t length;
      std::memcpy(&length, recv.data() + at, 4);
      std::string_view word(recv.data() + at + 4, length);
      std::uint64_t n;
      std::memcpy(&n, recv.data() + at + 4 + length, 8);
      add(mine, word, n);
      at += 12 + length;
    }
    std::uint64_t local[2] = {0, mine.size()}, global[2];
    for (const auto& [w, n] : mine) local[0] += n;
    MPI_Allreduce(local, global, 2, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    std::vector<std::pair<std::uint64_t, std::string>> entries;
    for (const auto& [w, n] : mine) entries.emplace_back(n, w);
    std::string top = baseline::top_list(std::move(entries), 5);
    double seconds = MPI_Wtime() - start;
    baseline::report("wordcount", seconds,
                     "\"words\":" + std::to_string(global[0]) +
                         ",\"distinct\":" + std::to_string(global[1]) + ",\"top\":" + top);
  } catch (const std::exception& e) {
    if (baseline::rank() == 0) std::fprintf(stderr, "wordcount-mpi: %s\n", e.what());
    status = 1;
  }
  MPI_Finalize();
  return status;
}
