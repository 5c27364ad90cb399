// SPDX-License-Identifier: GPL-2.0-or-later
//
// slurmctld's locks (lock_slurmctld) held for a scope: released on every
// path out, an exception's included, so an agent thread can never leave
// the controller's job or node table locked.
#pragma once

#include "common/slurm_internal.h"

namespace converge::slurm {

class ControllerLock {
 public:
  explicit ControllerLock(slurmctld_lock_t locks) : locks_(locks) { lock_slurmctld(locks_); }
  ~ControllerLock() { unlock(); }
  ControllerLock(const ControllerLock&) = delete;
  ControllerLock& operator=(const ControllerLock&) = delete;

  // Releases early (before slow work that needs no lock).
  void unlock() {
    if (held_) unlock_slurmctld(locks_);
    held_ = false;
  }

 private:
  slurmctld_lock_t locks_;
  bool held_ = true;
};

// The lock sets the agents use: {config, job, node, partition, federation}.
inline constexpr slurmctld_lock_t kNodeRead = {NO_LOCK, NO_LOCK, READ_LOCK, NO_LOCK, NO_LOCK};
inline constexpr slurmctld_lock_t kJobRead = {NO_LOCK, READ_LOCK, NO_LOCK, NO_LOCK, NO_LOCK};
inline constexpr slurmctld_lock_t kJobAndNodeRead = {NO_LOCK, READ_LOCK, READ_LOCK, NO_LOCK,
                                                     NO_LOCK};
inline constexpr slurmctld_lock_t kJobWrite = {NO_LOCK, WRITE_LOCK, NO_LOCK, NO_LOCK, NO_LOCK};

}  // namespace converge::slurm
