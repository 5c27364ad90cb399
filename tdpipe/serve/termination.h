// SPDX-License-Identifier: GPL-2.0-or-later
//
// How the servers stop: SIGTERM and SIGINT are blocked in every thread
// (call block_termination() before starting any), and the main thread
// waits for one, then drains.
#pragma once

#include <csignal>

namespace tdpipe {

inline sigset_t termination_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  return signals;
}

inline void block_termination() {
  sigset_t signals = termination_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

// Returns the signal that came.
inline int wait_for_termination() {
  sigset_t signals = termination_signals();
  int signal = 0;
  sigwait(&signals, &signal);
  return signal;
}

}  // namespace tdpipe
