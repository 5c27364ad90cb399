// SPDX-License-Identifier: GPL-2.0-or-later
//
// A work-stealing deque (Chase and Lev, with the memory orders of Lê et
// al., "Correct and efficient work-stealing for weak memory models"): the
// owner pushes and pops at the bottom without locks, thieves take the
// oldest task from the top with one compare-and-swap. Fixed capacity: a
// full deque refuses the push and the owner runs the task itself.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace topo::find {

template <typename T, std::size_t Capacity = 8192>
class WorkDeque {
  static_assert((Capacity & (Capacity - 1)) == 0, "capacity must be a power of two");

 public:
  bool push(T* item) {  // owner only
    std::int64_t b = bottom_.load(std::memory_order_relaxed);
    std::int64_t t = top_.load(std::memory_order_acquire);
    if (b - t >= static_cast<std::int64_t>(Capacity)) return false;
    // Release on the slot as well as the fence: whoever takes the item sees
    // what the owner wrote into it (and tools that do not model fences,
    // such as ThreadSanitizer, see that too). Free on x86.
    slots_[b & kMask].store(item, std::memory_order_release);
    std::atomic_thread_fence(std::memory_order_release);
    bottom_.store(b + 1, std::memory_order_relaxed);
    return true;
  }

  T* pop() {  // owner only: the newest task, or nullptr
    std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
    bottom_.store(b, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    std::int64_t t = top_.load(std::memory_order_relaxed);
    if (t > b) {
      bottom_.store(b + 1, std::memory_order_relaxed);
      return nullptr;
    }
    T* item = slots_[b & kMask].load(std::memory_order_relaxed);
    if (t == b) {  // the last one: race the thieves for it
      if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                        std::memory_order_relaxed))
        item = nullptr;
      bottom_.store(b + 1, std::memory_order_relaxed);
    }
    return item;
  }

  T* steal() {  // any thread: the oldest task, or nullptr (empty or lost a race)
    std::int64_t t = top_.load(std::memory_order_acquire);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    std::int64_t b = bottom_.load(std::memory_order_acquire);
    if (t >= b) return nullptr;
    T* item = slots_[t & kMask].load(std::memory_order_acquire);
    if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                      std::memory_order_relaxed))
      return nullptr;
    return item;
  }

  std::int64_t size() const {  // a snapshot, for heuristics
    return bottom_.load(std::memory_order_relaxed) - top_.load(std::memory_order_relaxed);
  }

 private:
  static constexpr std::int64_t kMask = static_cast<std::int64_t>(Capacity) - 1;
  alignas(64) std::atomic<std::int64_t> top_{0};
  alignas(64) std::atomic<std::int64_t> bottom_{0};
  alignas(64) std::array<std::atomic<T*>, Capacity> slots_{};
};

}  // namespace topo::find
