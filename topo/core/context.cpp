// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/context.h"

#include <stdexcept>

namespace topo {

Context::Context(MPI_Comm comm, find::Scheduler& local) : comm_(comm), local_(local) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) throw std::logic_error("topo::Context: MPI is not initialised");
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

std::vector<std::vector<char>> Context::allgather(const std::vector<char>& mine) const {
  int count = static_cast<int>(mine.size());
  std::vector<int> counts(size_), offsets(size_);
  MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, comm_);
  int total = 0;
  for (int r = 0; r < size_; ++r) {
    offsets[r] = total;
    total += counts[r];
  }
  std::vector<char> all(static_cast<std::size_t>(total));
  MPI_Allgatherv(mine.data(), count, MPI_BYTE, all.data(), counts.data(), offsets.data(), MPI_BYTE,
                 comm_);
  std::vector<std::vector<char>> out(size_);
  for (int r = 0; r < size_; ++r)
    out[r].assign(all.begin() + offsets[r], all.begin() + offsets[r] + counts[r]);
  return out;
}

std::uint64_t Context::sum(std::uint64_t mine) const {
  std::uint64_t total = 0;
  MPI_Allreduce(&mine, &total, 1, MPI_UINT64_T, MPI_SUM, comm_);
  return total;
}

}  // namespace topo
