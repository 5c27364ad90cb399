// SPDX-License-Identifier: GPL-2.0-or-later
//
// A Topo program's view of its resources: the MPI communicator its ranks
// share and the FinD scheduler that runs each rank's local work. Topo does
// not own MPI: the program initialises and finalises it.
//
// Collectives here move bytes; core/exchange.h moves typed elements on top.
#pragma once

#include "topo/core/spill.h"
#include "topo/find/scheduler.h"

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace topo {

// Bytes received from every rank: rank r's part is
// bytes[offsets[r] .. offsets[r + 1]).
struct Received {
  std::vector<char> bytes;
  std::vector<std::size_t> offsets;

  const char* data(int rank) const { return bytes.data() + offsets[rank]; }
  std::size_t size(int rank) const { return offsets[rank + 1] - offsets[rank]; }
};

class Context {
 public:
  Context(MPI_Comm comm, find::Scheduler& local);

  int rank() const { return rank_; }
  int size() const { return size_; }
  MPI_Comm comm() const { return comm_; }
  find::Scheduler& local() { return local_; }

  // Every rank's bytes, in rank order (MPI_Allgatherv).
  Received allgather(const std::vector<char>& mine) const;
  // outgoing[r] goes to rank r; returns what every rank sent to this one
  // (MPI_Alltoallv, or files when the exchange spills: core/spill.h). A
  // part over 2 GiB is refused (MPI counts are int).
  Received exchange(const std::vector<std::vector<char>>& outgoing) const;
  // The same with the parts already in one buffer: rank r's are
  // send[offsets[r] .. offsets[r + 1]) (P + 1 offsets). Saves a copy.
  Received exchange(const std::vector<char>& send, const std::vector<std::size_t>& offsets) const;

  // Collective: every rank must set the same settings.
  void set_spill(SpillSettings settings) { spill_ = std::move(settings); }
  const SpillSettings& spill() const { return spill_; }
  const SpillStats& spill_stats() const { return spill_stats_; }

  std::uint64_t sum(std::uint64_t mine) const;            // over all ranks
  std::uint64_t exclusive_sum(std::uint64_t mine) const;  // over the ranks before this one
  double sum_double(double mine) const;
  double max_double(double mine) const;
  std::vector<std::uint64_t> allgather(std::uint64_t mine) const;

 private:
  Received exchange_through_files(const std::vector<char>& send,
                                  const std::vector<std::size_t>& send_offsets,
                                  const std::vector<int>& send_counts,
                                  const std::vector<int>& recv_counts) const;

  MPI_Comm comm_;
  find::Scheduler& local_;
  int rank_ = 0, size_ = 1;
  SpillSettings spill_;
  mutable SpillStats spill_stats_;  // exchange() is logically const
  mutable std::uint64_t shuffle_sequence_ = 0;
  std::string spill_prefix_;  // unique per Context, agreed by all ranks
};

}  // namespace topo
