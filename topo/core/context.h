// SPDX-License-Identifier: GPL-2.0-or-later
//
// A Topo program's view of its resources: the MPI communicator its ranks
// share and the FinD scheduler that runs each rank's local work. Topo does
// not own MPI: the program initialises and finalises it.
#pragma once

#include "find/scheduler.h"

#include <mpi.h>

#include <cstdint>
#include <vector>

namespace topo {

class Context {
 public:
  Context(MPI_Comm comm, find::Scheduler& local);

  int rank() const { return rank_; }
  int size() const { return size_; }
  MPI_Comm comm() const { return comm_; }
  find::Scheduler& local() { return local_; }

  // Every rank's bytes, in rank order (MPI_Allgatherv).
  std::vector<std::vector<char>> allgather(const std::vector<char>& mine) const;
  std::uint64_t sum(std::uint64_t mine) const;  // over all ranks

 private:
  MPI_Comm comm_;
  find::Scheduler& local_;
  int rank_ = 0, size_ = 1;
};

}  // namespace topo
