// SPDX-License-Identifier: GPL-2.0-or-later
//
// This process's PMIx client session inside a Slurm step (srun --mpi=pmix):
// rank, size, and the Put/Commit/Fence/Get exchange converge-launch uses to
// share endpoints and phase results among its ranks. Slurm's PMIx server has
// no publish/lookup, so anything later steps need goes to a file.
#pragma once

#include <chrono>
#include <condition_variable>
#include <list>
#include <mutex>
#include <stdexcept>
#include <string>

namespace converge::launch {

class PmixError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A fence that did not complete in time; the step is not usable any more.
class PmixStalled : public PmixError {
 public:
  using PmixError::PmixError;
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
  // Throws PmixStalled when the fence has not completed within `limit`: a
  // rank that never arrives (stuck, or its node's PMIx server lost the
  // message) must fail the bring-up, not hang it until the job's end.
  void fence(std::chrono::milliseconds limit);
  std::string get(unsigned rank, const std::string& key);

 private:
  // One fence's completion, written by PMIx's progress thread. Kept for the
  // session's life: a fence given up on may still complete later, and
  // PMIx_Finalize (in the destructor, before members go) stops the thread.
  struct FenceWait {
    std::mutex mutex;
    std::condition_variable done;
    bool completed = false;
    int status = 0;
  };
  std::list<FenceWait> fences_;
  std::string nspace_;
  unsigned rank_ = 0;
  unsigned size_ = 1;
};

}  // namespace converge::launch
