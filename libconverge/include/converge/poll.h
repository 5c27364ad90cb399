// SPDX-License-Identifier: GPL-2.0-or-later
//
// Waiting for a condition, never for a fixed time: polls `ready` until it
// holds or `timeout` passes.
#pragma once

#include <chrono>
#include <thread>

namespace converge {

template <typename Predicate>
bool poll_until(std::chrono::milliseconds timeout, std::chrono::milliseconds interval,
                Predicate&& ready) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (ready()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

}  // namespace converge
