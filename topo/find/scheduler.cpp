// SPDX-License-Identifier: GPL-2.0-or-later
#include "topo/find/scheduler.h"

#include "topo/find/machine.h"

#include <algorithm>
#include <chrono>
#include <set>

namespace topo::find {
namespace detail {
namespace {
thread_local Worker* t_current = nullptr;
}
Worker* current_worker() {
  return t_current;
}
}  // namespace detail

namespace {

using detail::Worker;

std::uint64_t next_random(std::uint64_t& state) {  // xorshift64*
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545F4914F6CDD1DULL;
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

Scheduler::Scheduler(Options options) : options_(options) {
  auto cores = machine_cores();
  unsigned count = options_.workers ? options_.workers : static_cast<unsigned>(cores.size());
  std::set<int> nodes;
  for (unsigned i = 0; i < count; ++i) {
    auto w = std::make_unique<Worker>();
    w->scheduler = this;
    w->index = i;
    const CoreSlot& slot = cores[i % cores.size()];
    w->os_cpu = slot.os_cpu;
    w->numa = options_.numa_aware ? slot.numa : 0;
    w->rng = 0x9E3779B97F4A7C15ULL * (i + 1);
    nodes.insert(w->numa);
    workers_.push_back(std::move(w));
  }
  numa_nodes_ = static_cast<unsigned>(nodes.size());
  for (auto& w : workers_)
    threads_.emplace_back([this, worker = w.get()] { worker_loop(*worker); });
}

Scheduler::~Scheduler() {
  stopping_.store(true, std::memory_order_release);
  {
    converge::MutexLock lock(sleep_mutex_);
    work_epoch_.fetch_add(1, std::memory_order_release);
  }
  sleep_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

Stats Scheduler::stats() const {
  Stats s;
  for (const auto& w : workers_) {
    s.local_steals += w->local_steals.load(std::memory_order_relaxed);
    s.remote_steals += w->remote_steals.load(std::memory_order_relaxed);
    s.handoffs += w->handoffs.load(std::memory_order_relaxed);
  }
  return s;
}

void Scheduler::execute(Task* task) {
  std::atomic<int>* pending = task->pending;
  task->execute(task);
  // The joiner may return (and the task's frame vanish) right after this.
  pending->fetch_sub(1, std::memory_order_acq_rel);
}

void Scheduler::execute_root(Task* task) {
  task->execute(task);
  // run()'s caller sleeps on this counter, which outlives the call.
  root_pending_.fetch_sub(1, std::memory_order_acq_rel);
  root_pending_.notify_all();
}

void Scheduler::push(Worker& w, Task* task) {
  if (!w.deque.push(task)) {  // full: run it here and now
    execute(task);
    return;
  }
  if (options_.numa_aware && numa_nodes_ > 1) hand_off(w);
  // Wake a sleeper only when work newly appears (a nearly empty deque): a
  // woken worker that steals forks more and wakes the next, and a worker
  // busy forking does not pay a lock and a notify per task.
  if (w.deque.size() <= 2 && sleepers_.load(std::memory_order_acquire) > 0) {
    {
      converge::MutexLock lock(sleep_mutex_);
      work_epoch_.fetch_add(1, std::memory_order_release);
    }
    sleep_cv_.notify_one();
  }
}

// Two-sided stealing: with work to spare, give the oldest task to a
// starving worker of another NUMA node, so it need not cross the node's
// boundary probing victims one by one.
void Scheduler::hand_off(Worker& w) {
  if (w.deque.size() < 2) return;
  for (auto& other : workers_) {
    if (other->numa == w.numa || !other->starving.load(std::memory_order_relaxed)) continue;
    if (other->mailbox.load(std::memory_order_relaxed)) continue;
    Task* task = w.deque.steal();  // our oldest
    if (!task) return;
    Task* empty = nullptr;
    if (other->mailbox.compare_exchange_strong(empty, task, std::memory_order_acq_rel)) {
      w.handoffs.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    // Someone filled it meanwhile: run the task ourselves rather than lose it.
    execute(task);
    return;
  }
}

Task* Scheduler::steal_from(Worker& thief, bool same_numa) {
  const std::size_t n = workers_.size();
  std::size_t start = next_random(thief.rng) % n;
  for (std::size_t k = 0; k < n; ++k) {
    Worker& victim = *workers_[(start + k) % n];
    if (&victim == &thief || (victim.numa == thief.numa) != same_numa) continue;
    if (Task* t = victim.deque.steal()) return t;
  }
  return nullptr;
}

Task* Scheduler::find_work(Worker& w) {
  if (Task* t = w.deque.pop()) return t;
  if (Task* t = w.mailbox.exchange(nullptr, std::memory_order_acq_rel)) return t;
  if (Task* t = steal_from(w, true)) {
    w.local_steals.fetch_add(1, std::memory_order_relaxed);
    return t;
  }
  if (numa_nodes_ > 1) {
    if (Task* t = steal_from(w, false)) {
      w.remote_steals.fetch_add(1, std::memory_order_relaxed);
      return t;
    }
  }
  if (w.index == 0) {  // the root task of run() starts on worker 0
    if (Task* t = injected_.exchange(nullptr, std::memory_order_acq_rel)) {
      execute_root(t);
      return find_work(w);
    }
  }
  return nullptr;
}

void Scheduler::worker_loop(Worker& w) {
  detail::t_current = &w;
  if (options_.pin) pin_current_thread(w.os_cpu);
  int idle_rounds = 0;
  while (!stopping_.load(std::memory_order_acquire)) {
    if (Task* t = find_work(w)) {
      w.starving.store(false, std::memory_order_relaxed);
      idle_rounds = 0;
      execute(t);
      continue;
    }
    w.starving.store(true, std::memory_order_relaxed);
    if (++idle_rounds < 64) {
      cpu_relax();
      continue;
    }
    if (idle_rounds < 128) {
      std::this_thread::yield();
      continue;
    }
    // Sleep until a push or a run() bumps the epoch (or a short while, so a
    // handed-off task in the mailbox is never stranded).
    {
      converge::MutexLock lock(sleep_mutex_);
      const std::uint64_t epoch = work_epoch_.load(std::memory_order_acquire);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(2);
      sleepers_.fetch_add(1, std::memory_order_acq_rel);
      while (!stopping_.load(std::memory_order_acquire) &&
             work_epoch_.load(std::memory_order_acquire) == epoch) {
        if (!sleep_cv_.wait_until(sleep_mutex_, deadline)) break;
      }
      sleepers_.fetch_sub(1, std::memory_order_acq_rel);
    }
    idle_rounds = 0;
  }
  w.starving.store(false, std::memory_order_relaxed);
  detail::t_current = nullptr;
}

void Scheduler::join(Worker& w, std::atomic<int>& pending) {
  int idle = 0;
  while (pending.load(std::memory_order_acquire) != 0) {
    if (Task* t = find_work(w)) {
      idle = 0;
      execute(t);
      continue;
    }
    if (++idle < 64)
      cpu_relax();
    else
      std::this_thread::yield();
  }
}

void Scheduler::run(const std::function<void()>& root) {
  if (detail::current_worker()) {  // already inside: just call it
    root();
    return;
  }
  converge::MutexLock one_at_a_time(run_mutex_);
  std::exception_ptr error;
  auto body = [&] {
    try {
      root();
    } catch (...) {
      error = std::current_exception();
    }
  };
  detail::FunctionTask<decltype(body)> task;
  task.execute = &decltype(task)::call;
  task.pending = &root_pending_;
  task.function = &body;
  root_pending_.store(1, std::memory_order_release);
  injected_.store(&task, std::memory_order_release);
  {
    converge::MutexLock lock(sleep_mutex_);
    work_epoch_.fetch_add(1, std::memory_order_release);
  }
  sleep_cv_.notify_all();
  // The caller is no worker: it sleeps until the root task is done.
  while (int left = root_pending_.load(std::memory_order_acquire)) root_pending_.wait(left);
  if (error) std::rethrow_exception(error);
}

}  // namespace topo::find
