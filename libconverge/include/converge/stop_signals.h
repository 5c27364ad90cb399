// SPDX-License-Identifier: GPL-2.0-or-later
//
// How Converge's daemons stop: SIGTERM and SIGINT (and SIGHUP where asked)
// are blocked by the constructor, called in main() before any thread starts
// so that every thread inherits the block; the main thread then takes them
// synchronously. No handler runs in an arbitrary thread, and a service's
// drain runs in ordinary code.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <optional>

namespace converge {

class StopSignals {
 public:
  explicit StopSignals(bool hangup = false) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGINT);
    if (hangup) sigaddset(&set_, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }

  // Waits for one; returns which.
  int wait() const {
    int signal = 0;
    sigwait(&set_, &signal);
    return signal;
  }

  // The signal that came within `limit`, if any (0 ms: only look).
  std::optional<int> wait_for(std::chrono::milliseconds limit) const {
    timespec timeout{static_cast<time_t>(limit.count() / 1000),
                     static_cast<long>(limit.count() % 1000) * 1'000'000};
    int signal = sigtimedwait(&set_, nullptr, &timeout);
    if (signal > 0) return signal;
    return std::nullopt;
  }

 private:
  sigset_t set_;
};

}  // namespace converge
