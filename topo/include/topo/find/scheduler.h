// SPDX-License-Identifier: GPL-2.0-or-later
//
// FinD: the task scheduler that runs Topo's local work.
//
// - One worker thread per core, pinned with hwloc, each with its own
//   lock-free deque (work_deque.h).
// - Tasks are a function pointer and a join counter, living in the frame
//   of the code that forks them: no allocation, no thread per task.
// - Fork-join, child first: fork_join(a, b) makes b stealable and runs a at
//   once on the same worker; if nobody stole b by then, the worker runs it
//   too, so an unstolen fork costs a push and a pop.
// - Two-sided, NUMA-aware stealing: an idle worker steals the oldest task
//   of a random victim on its own NUMA node first and goes to other nodes
//   only after failing there; a worker that forks while a worker of another
//   node starves hands it a task through that worker's mailbox.
// - Idle workers back off and then sleep; a fork wakes one.
//
// Code outside the scheduler calls run(); inside tasks, fork_join,
// parallel_for and TaskGroup spread work. Exceptions thrown by a task
// reach the code that joins it.
#pragma once

#include "topo/find/work_deque.h"

#include "converge/mutex.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace topo::find {

struct Task {
  void (*execute)(Task*) = nullptr;
  std::atomic<int>* pending = nullptr;  // the joiner's counter, decremented when done
  void* context = nullptr;              // what execute works on
};

struct Options {
  unsigned workers = 0;    // 0: one per core
  bool pin = true;         // bind each worker to its core
  bool numa_aware = true;  // steal on the own NUMA node first, hand work across
};

struct Stats {
  std::uint64_t local_steals = 0, remote_steals = 0, handoffs = 0;
};

class Scheduler;

namespace detail {

struct Worker {
  Scheduler* scheduler = nullptr;
  unsigned index = 0;
  int numa = 0;
  int os_cpu = -1;
  WorkDeque<Task> deque;
  std::atomic<Task*> mailbox{nullptr};  // work handed over by another node's worker
  std::atomic<bool> starving{false};
  std::uint64_t rng = 0;
  // Written by the worker, read by stats() from anywhere.
  std::atomic<std::uint64_t> local_steals{0}, remote_steals{0}, handoffs{0};
};

Worker* current_worker();

template <typename F>
struct FunctionTask : Task {
  F* function = nullptr;
  std::exception_ptr error;
  static void call(Task* t) {
    auto* self = static_cast<FunctionTask*>(t);
    try {
      (*self->function)();
    } catch (...) {
      self->error = std::current_exception();
    }
  }
};

}  // namespace detail

class Scheduler {
 public:
  explicit Scheduler(Options options = {});
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Runs `root` on a worker and waits for it (and all it forked).
  void run(const std::function<void()>& root);

  unsigned workers() const { return static_cast<unsigned>(workers_.size()); }
  unsigned numa_nodes() const { return numa_nodes_; }
  Stats stats() const;

  // Internal, used by the fork-join templates.
  void push(detail::Worker& w, Task* task);
  // Runs other work (or waits) until *pending reaches zero.
  void join(detail::Worker& w, std::atomic<int>& pending);

 private:
  void worker_loop(detail::Worker& w);
  Task* find_work(detail::Worker& w);
  Task* steal_from(detail::Worker& thief, bool same_numa);
  void hand_off(detail::Worker& w);
  static void execute(Task* task);
  void execute_root(Task* task);

  Options options_;
  unsigned numa_nodes_ = 1;
  std::vector<std::unique_ptr<detail::Worker>> workers_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> sleepers_{0};
  std::atomic<std::uint64_t> work_epoch_{0};
  // Orders an epoch bump against a sleeper's last look at the epoch, so no
  // wake-up is lost; it guards no data (the epoch and counts are atomics).
  converge::Mutex sleep_mutex_;
  converge::CondVar sleep_cv_;
  converge::Mutex run_mutex_;             // one run() at a time
  std::atomic<Task*> injected_{nullptr};  // run()'s root task, for worker 0
  std::atomic<int> root_pending_{0};
};

// Runs a and b, possibly in parallel; returns when both are done. Outside a
// scheduler both simply run in turn.
template <typename A, typename B>
void fork_join(A&& a, B&& b) {
  detail::Worker* w = detail::current_worker();
  if (!w) {
    a();
    b();
    return;
  }
  std::atomic<int> pending{1};
  detail::FunctionTask<std::remove_reference_t<B>> task;
  task.execute = &decltype(task)::call;
  task.pending = &pending;
  task.function = &b;
  w->scheduler->push(*w, &task);
  std::exception_ptr first;
  try {
    a();
  } catch (...) {
    first = std::current_exception();
  }
  // Everything forked after `task` has been joined: if it was not stolen,
  // it is at the bottom of this worker's deque.
  if (w->deque.pop() == &task) {
    decltype(task)::call(&task);
    pending.store(0, std::memory_order_relaxed);
  } else {
    w->scheduler->join(*w, pending);
  }
  if (first) std::rethrow_exception(first);
  if (task.error) std::rethrow_exception(task.error);
}

// Any number of tasks, joined together: spawn() copies the function into a
// task of the group (heap, since it outlives the spawning frame), wait()
// runs or waits for all of them and rethrows the first exception.
class TaskGroup {
 public:
  TaskGroup() = default;
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;
  ~TaskGroup() {
    try {
      wait();
    } catch (...) {  // a destructor must not throw; wait() explicitly to see it
    }
  }

  template <typename F>
  void spawn(F function) {
    auto owned = std::make_unique<Owned<F>>(std::move(function));
    detail::Worker* w = detail::current_worker();
    if (!w) {
      owned->function();
      return;
    }
    owned->task.execute = &Owned<F>::call;
    owned->task.pending = &pending_;
    owned->task.context = owned.get();
    pending_.fetch_add(1, std::memory_order_relaxed);
    Task* task = &owned->task;
    tasks_.push_back(std::move(owned));
    w->scheduler->push(*w, task);
  }

  void wait() {
    if (detail::Worker* w = detail::current_worker()) w->scheduler->join(*w, pending_);
    for (auto& t : tasks_) {
      if (t->error) {
        auto error = t->error;
        tasks_.clear();
        std::rethrow_exception(error);
      }
    }
    tasks_.clear();
  }

 private:
  struct Base {
    Task task;
    std::exception_ptr error;
    virtual ~Base() = default;
  };
  template <typename F>
  struct Owned : Base {
    explicit Owned(F f) : function(std::move(f)) {}
    F function;
    static void call(Task* t) {
      auto* self = static_cast<Owned*>(t->context);
      try {
        self->function();
      } catch (...) {
        self->error = std::current_exception();
      }
    }
  };
  std::atomic<int> pending_{0};
  std::vector<std::unique_ptr<Base>> tasks_;
};

// Calls body(i) for i in [begin, end), splitting ranges in halves down to
// `grain` elements.
template <typename Body>
void parallel_for(std::size_t begin, std::size_t end, std::size_t grain, const Body& body) {
  if (grain == 0) grain = 1;
  if (end - begin <= grain) {
    for (std::size_t i = begin; i < end; ++i) body(i);
    return;
  }
  std::size_t mid = begin + (end - begin) / 2;
  fork_join([&] { parallel_for(begin, mid, grain, body); },
            [&] { parallel_for(mid, end, grain, body); });
}

}  // namespace topo::find
