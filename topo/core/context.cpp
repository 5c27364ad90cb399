// SPDX-License-Identifier: GPL-2.0-or-later
#include "topo/core/context.h"

#include <unistd.h>

#include <chrono>
#include <climits>
#include <stdexcept>
#include <string>

namespace topo {
namespace {

int as_count(std::size_t n) {
  if (n > static_cast<std::size_t>(INT_MAX))
    throw std::length_error("topo: " + std::to_string(n) + " bytes in one message (over 2 GiB)");
  return static_cast<int>(n);
}

// Offsets (as int, for MPI) and their size_t copy with the total at the end.
std::vector<int> displacements(const std::vector<int>& counts, std::vector<std::size_t>& offsets) {
  std::vector<int> displs(counts.size());
  offsets.assign(counts.size() + 1, 0);
  for (std::size_t r = 0; r < counts.size(); ++r) {
    offsets[r + 1] = offsets[r] + static_cast<std::size_t>(counts[r]);
    displs[r] = as_count(offsets[r]);
  }
  as_count(offsets.back());
  return displs;
}

}  // namespace

Context::Context(MPI_Comm comm, find::Scheduler& local) : comm_(comm), local_(local) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) throw std::logic_error("topo::Context: MPI is not initialised");
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
  // Spill files of different programs (or Contexts) must not meet: rank 0's
  // pid and clock name them.
  std::uint64_t id[2] = {
      static_cast<std::uint64_t>(::getpid()),
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())};
  MPI_Bcast(id, 2, MPI_UINT64_T, 0, comm_);
  spill_prefix_ =
      "topo-shuffle-" + std::to_string(id[0]) + "-" + std::to_string(id[1] % 1000000007);
}

Received Context::allgather(const std::vector<char>& mine) const {
  int count = as_count(mine.size());
  std::vector<int> counts(size_);
  MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, comm_);
  Received in;
  std::vector<int> displs = displacements(counts, in.offsets);
  in.bytes.resize(in.offsets.back());
  MPI_Allgatherv(mine.data(), count, MPI_BYTE, in.bytes.data(), counts.data(), displs.data(),
                 MPI_BYTE, comm_);
  return in;
}

Received Context::exchange(const std::vector<std::vector<char>>& outgoing) const {
  if (outgoing.size() != static_cast<std::size_t>(size_))
    throw std::logic_error("topo::Context::exchange: one part per rank expected");
  std::vector<std::size_t> offsets{0};
  for (const auto& part : outgoing) offsets.push_back(offsets.back() + part.size());
  std::vector<char> send;
  send.reserve(offsets.back());
  for (const auto& part : outgoing) send.insert(send.end(), part.begin(), part.end());
  return exchange(send, offsets);
}

Received Context::exchange(const std::vector<char>& send,
                           const std::vector<std::size_t>& offsets) const {
  if (offsets.size() != static_cast<std::size_t>(size_) + 1 || offsets.back() != send.size())
    throw std::logic_error("topo::Context::exchange: P + 1 offsets ending at the buffer's size");
  std::vector<int> send_counts(size_), recv_counts(size_), send_displs(size_);
  for (int r = 0; r < size_; ++r) {
    send_counts[r] = as_count(offsets[r + 1] - offsets[r]);
    send_displs[r] = as_count(offsets[r]);
  }
  MPI_Alltoall(send_counts.data(), 1, MPI_INT, recv_counts.data(), 1, MPI_INT, comm_);
  if (spill_.mode != SpillMode::off) {
    std::uint64_t total = sum(send.size());  // the same decision on every rank
    if (total > spill_.threshold || spill_.threshold == 0)
      return exchange_through_files(send, offsets, send_counts, recv_counts);
  }
  Received in;
  std::vector<int> recv_displs = displacements(recv_counts, in.offsets);
  in.bytes.resize(in.offsets.back());
  MPI_Alltoallv(send.data(), send_counts.data(), send_displs.data(), MPI_BYTE, in.bytes.data(),
                recv_counts.data(), recv_displs.data(), MPI_BYTE, comm_);
  return in;
}

std::uint64_t Context::sum(std::uint64_t mine) const {
  std::uint64_t total = 0;
  MPI_Allreduce(&mine, &total, 1, MPI_UINT64_T, MPI_SUM, comm_);
  return total;
}

double Context::sum_double(double mine) const {
  double total = 0;
  MPI_Allreduce(&mine, &total, 1, MPI_DOUBLE, MPI_SUM, comm_);
  return total;
}

double Context::max_double(double mine) const {
  double most = 0;
  MPI_Allreduce(&mine, &most, 1, MPI_DOUBLE, MPI_MAX, comm_);
  return most;
}

std::uint64_t Context::exclusive_sum(std::uint64_t mine) const {
  std::uint64_t before = 0;
  MPI_Exscan(&mine, &before, 1, MPI_UINT64_T, MPI_SUM, comm_);
  return rank_ == 0 ? 0 : before;  // MPI_Exscan leaves rank 0's result undefined
}

std::vector<std::uint64_t> Context::allgather(std::uint64_t mine) const {
  std::vector<std::uint64_t> all(size_);
  MPI_Allgather(&mine, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, comm_);
  return all;
}

}  // namespace topo
