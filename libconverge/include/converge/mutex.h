// SPDX-License-Identifier: GPL-2.0-or-later
//
// A mutex that Clang's thread-safety analysis can follow (-Wthread-safety):
// members that a mutex protects say so (CONVERGE_GUARDED_BY(mutex_)),
// functions that expect it held say so (CONVERGE_REQUIRES(mutex_)), and the
// analysis rejects code that touches them without it. Under GCC the
// annotations vanish and this is std::mutex. scripts/check-thread-safety.sh
// runs the analysis over every file that uses it (make test).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define CONVERGE_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define CONVERGE_THREAD_ANNOTATION(x)
#endif

#define CONVERGE_CAPABILITY(x) CONVERGE_THREAD_ANNOTATION(capability(x))
#define CONVERGE_SCOPED_CAPABILITY CONVERGE_THREAD_ANNOTATION(scoped_lockable)
#define CONVERGE_GUARDED_BY(x) CONVERGE_THREAD_ANNOTATION(guarded_by(x))
#define CONVERGE_PT_GUARDED_BY(x) CONVERGE_THREAD_ANNOTATION(pt_guarded_by(x))
#define CONVERGE_REQUIRES(...) CONVERGE_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define CONVERGE_EXCLUDES(...) CONVERGE_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define CONVERGE_ACQUIRE(...) CONVERGE_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define CONVERGE_RELEASE(...) CONVERGE_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define CONVERGE_NO_THREAD_SAFETY_ANALYSIS CONVERGE_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace converge {

class CONVERGE_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() CONVERGE_ACQUIRE() { mutex_.lock(); }
  void unlock() CONVERGE_RELEASE() { mutex_.unlock(); }

 private:
  friend class CondVar;
  std::mutex mutex_;
};

// Holds a Mutex for its scope.
class CONVERGE_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mutex) CONVERGE_ACQUIRE(mutex) : mutex_(mutex) { mutex_.lock(); }
  ~MutexLock() CONVERGE_RELEASE() { mutex_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mutex_;
};

// A condition variable over a Mutex the caller holds: the analysis checks
// that every wait names a mutex that is held (as LevelDB's port::CondVar).
class CondVar {
 public:
  // Waits until notified (or woken spuriously: callers loop on their
  // condition, which the analysis then sees read under the mutex).
  void wait(Mutex& mutex) CONVERGE_REQUIRES(mutex) {
    std::unique_lock lock(mutex.mutex_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  // As wait(), but returns false once `deadline` has passed.
  template <typename Clock, typename Duration>
  bool wait_until(Mutex& mutex, const std::chrono::time_point<Clock, Duration>& deadline)
      CONVERGE_REQUIRES(mutex) {
    std::unique_lock lock(mutex.mutex_, std::adopt_lock);
    bool notified = cv_.wait_until(lock, deadline) == std::cv_status::no_timeout;
    lock.release();
    return notified;
  }
  void notify_one() { cv_.notify_one(); }
  void notify_all() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace converge
