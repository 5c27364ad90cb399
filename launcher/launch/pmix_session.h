// SPDX-License-Identifier: GPL-2.0-or-later
//
// This process's PMIx client session inside a Slurm step (srun --mpi=pmix):
// rank, size, and the Put/Commit/Fence/Get exchange converge-launch uses to
// share endpoints and phase results among its ranks. Slurm's PMIx server has
// no publish/lookup, so anything later steps need goes to a file.
#pragma once

#include <stdexcept>
#include <string>

namespace converge::launch {

class PmixError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class PmixSession {
 public:
  PmixSession();  // PMIx_Init; throws PmixError outside a PMIx-enabled step
  ~PmixSession();
  PmixSession(const PmixSession&) = delete;
  PmixSession& operator=(const PmixSession&) = delete;

  unsigned rank() const { return rank_; }
  unsigned size() const { return size_; }

  // Publishes key=value for the other ranks (visible after the next fence).
  void put(const std::string& key, const std::string& value);
  // Commits what was put, then waits for every rank and collects their data.
  void fence();
  std::string get(unsigned rank, const std::string& key);

 private:
  std::string nspace_;
  unsigned rank_ = 0;
  unsigned size_ = 1;
};

}  // namespace converge::launch
