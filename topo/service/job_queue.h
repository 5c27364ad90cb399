// SPDX-License-Identifier: GPL-2.0-or-later
//
// The Topo service's job queue: clients submit jobs (an application and one
// parameter set per task), workers pull tasks one at a time and report
// each result or failure, clients poll a job until it is done. A task
// handed to a worker carries a lease: if the worker neither finishes nor
// fails it in time (it died, say), the task goes back to the queue. The
// first result of a task wins; a failed task fails its job. Thread-safe;
// no I/O, so it is tested on its own.
#pragma once

#include "converge/mutex.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace topo::service {

using Clock = std::chrono::steady_clock;

struct Assignment {
  std::uint64_t job = 0;
  std::uint32_t index = 0;
  std::string app;
  nlohmann::json params;
};

enum class JobState { running, done, failed };
const char* job_state_name(JobState state);

struct JobStatus {
  JobState state = JobState::running;
  std::uint32_t total = 0, finished = 0;
  std::vector<nlohmann::json> results;  // by task, once done
  std::string error;                    // once failed
};

// What one submitter may hold in the queue at once.
struct QueueCaps {
  std::size_t max_running_jobs = 1000;
  std::size_t max_tasks_per_job = 1'000'000;
};

// What became of a worker's report on a task.
enum class Report {
  accepted,    // the task's result or failure is recorded
  ignored,     // the task was already done or its job over: a late duplicate
  unknown,     // no such job (perhaps forgotten) or task
  not_leased,  // the task is leased to another worker
};

class JobQueue {
 public:
  explicit JobQueue(std::chrono::milliseconds lease = std::chrono::minutes(5),
                    std::size_t finished_kept = 100, QueueCaps caps = {});

  // Throws std::length_error when the job has too many tasks or too many
  // jobs are still running.
  std::uint64_t submit(const std::string& app, std::vector<nlohmann::json> tasks);

  // The next pending task for `worker`, waiting up to `wait` for one.
  std::optional<Assignment> next(const std::string& worker, std::chrono::milliseconds wait);

  // A report counts only from the worker that holds the task's lease (or
  // held it last, when it expired and nobody took the task since): the
  // first result of a task wins.
  Report complete(std::uint64_t job, std::uint32_t index, const std::string& worker,
                  nlohmann::json result);
  Report fail(std::uint64_t job, std::uint32_t index, const std::string& worker,
              const std::string& error);

  std::optional<JobStatus> status(std::uint64_t job) const;
  std::size_t pending() const;

 private:
  struct Task {
    nlohmann::json params;
    enum class State { pending, running, done } state = State::pending;
    std::string worker;
    Clock::time_point deadline;
    nlohmann::json result;
  };
  struct Job {
    std::string app;
    std::vector<Task> tasks;
    std::uint32_t finished = 0;
    JobState state = JobState::running;
    std::string error;
  };

  void requeue_expired(Clock::time_point now) CONVERGE_REQUIRES(mutex_);
  Report check_report(std::uint64_t job, std::uint32_t index, const std::string& worker)
      CONVERGE_REQUIRES(mutex_);
  void retire(std::uint64_t id, JobState state) CONVERGE_REQUIRES(mutex_);

  std::chrono::milliseconds lease_;
  std::size_t finished_kept_;
  QueueCaps caps_;
  std::size_t running_jobs_ CONVERGE_GUARDED_BY(mutex_) = 0;
  mutable converge::Mutex mutex_;
  converge::CondVar work_;
  std::uint64_t next_id_ CONVERGE_GUARDED_BY(mutex_) = 1;
  std::map<std::uint64_t, Job> jobs_ CONVERGE_GUARDED_BY(mutex_);
  std::deque<std::pair<std::uint64_t, std::uint32_t>> pending_ CONVERGE_GUARDED_BY(mutex_);  // FIFO
  // Oldest first, forgotten beyond finished_kept_.
  std::deque<std::uint64_t> finished_ CONVERGE_GUARDED_BY(mutex_);
};

}  // namespace topo::service
