// SPDX-License-Identifier: GPL-2.0-or-later
#include "topo/service/job_queue.h"

#include <algorithm>
#include <stdexcept>

namespace topo::service {

const char* job_state_name(JobState state) {
  switch (state) {
    case JobState::running:
      return "running";
    case JobState::done:
      return "done";
    case JobState::failed:
      return "failed";
  }
  return "?";
}

JobQueue::JobQueue(std::chrono::milliseconds lease, std::size_t finished_kept, QueueCaps caps)
    : lease_(lease), finished_kept_(finished_kept), caps_(caps) {}

std::uint64_t JobQueue::submit(const std::string& app, std::vector<nlohmann::json> tasks) {
  if (tasks.size() > caps_.max_tasks_per_job) {
    throw std::length_error("a job may have at most " + std::to_string(caps_.max_tasks_per_job) +
                            " tasks");
  }
  converge::MutexLock lock(mutex_);
  if (running_jobs_ >= caps_.max_running_jobs) {
    throw std::length_error(std::to_string(caps_.max_running_jobs) +
                            " jobs are still running: wait for some to finish");
  }
  ++running_jobs_;
  std::uint64_t id = next_id_++;
  Job& job = jobs_[id];
  job.app = app;
  for (auto& params : tasks) {
    Task& task = job.tasks.emplace_back();
    task.params = std::move(params);
  }
  for (std::uint32_t i = 0; i < job.tasks.size(); ++i) pending_.emplace_back(id, i);
  if (job.tasks.empty()) retire(id, JobState::done);  // nothing to do: done at once
  work_.notify_all();
  return id;
}

void JobQueue::requeue_expired(Clock::time_point now) {
  for (auto& [id, job] : jobs_) {
    if (job.state != JobState::running) continue;
    for (std::uint32_t i = 0; i < job.tasks.size(); ++i) {
      Task& t = job.tasks[i];
      if (t.state == Task::State::running && t.deadline <= now) {
        t.state = Task::State::pending;
        pending_.emplace_front(id, i);  // first in line again
      }
    }
  }
}

std::optional<Assignment> JobQueue::next(const std::string& worker,
                                         std::chrono::milliseconds wait) {
  converge::MutexLock lock(mutex_);
  auto until = Clock::now() + wait;
  while (true) {
    requeue_expired(Clock::now());
    while (!pending_.empty()) {
      auto [id, index] = pending_.front();
      pending_.pop_front();
      auto it = jobs_.find(id);
      if (it == jobs_.end() || it->second.state != JobState::running) continue;
      Task& t = it->second.tasks[index];
      if (t.state != Task::State::pending) continue;
      t.state = Task::State::running;
      t.worker = worker;
      t.deadline = Clock::now() + lease_;
      return Assignment{id, index, it->second.app, t.params};
    }
    // Wake for new work, or in time to requeue an expiring lease.
    if (!work_.wait_until(mutex_, std::min(until, Clock::now() + lease_)) && Clock::now() >= until)
      return std::nullopt;
  }
}

Report JobQueue::check_report(std::uint64_t job_id, std::uint32_t index,
                              const std::string& worker) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end() || index >= it->second.tasks.size()) return Report::unknown;
  const Job& job = it->second;
  const Task& t = job.tasks[index];
  if (job.state != JobState::running || t.state == Task::State::done) return Report::ignored;
  // Pending with a worker: its lease ran out and nobody has taken it since.
  if (t.worker != worker) return Report::not_leased;
  return Report::accepted;
}

Report JobQueue::complete(std::uint64_t job_id, std::uint32_t index, const std::string& worker,
                          nlohmann::json result) {
  converge::MutexLock lock(mutex_);
  Report r = check_report(job_id, index, worker);
  if (r != Report::accepted) return r;
  Job& job = jobs_[job_id];
  Task& t = job.tasks[index];
  t.state = Task::State::done;
  t.result = std::move(result);
  if (++job.finished == job.tasks.size()) retire(job_id, JobState::done);
  return r;
}

Report JobQueue::fail(std::uint64_t job_id, std::uint32_t index, const std::string& worker,
                      const std::string& error) {
  converge::MutexLock lock(mutex_);
  Report r = check_report(job_id, index, worker);
  if (r != Report::accepted) return r;
  Job& job = jobs_[job_id];
  job.error = "task " + std::to_string(index) + " on " + worker + ": " + error;
  retire(job_id, JobState::failed);
  return r;
}

void JobQueue::retire(std::uint64_t id, JobState state) {
  jobs_[id].state = state;
  --running_jobs_;
  finished_.push_back(id);
  while (finished_.size() > finished_kept_) {
    jobs_.erase(finished_.front());
    finished_.pop_front();
  }
}

std::optional<JobStatus> JobQueue::status(std::uint64_t job_id) const {
  converge::MutexLock lock(mutex_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return std::nullopt;
  const Job& job = it->second;
  JobStatus s{job.state, static_cast<std::uint32_t>(job.tasks.size()), job.finished, {}, job.error};
  if (job.state == JobState::done)
    for (const Task& t : job.tasks) s.results.push_back(t.result);
  return s;
}

std::size_t JobQueue::pending() const {
  converge::MutexLock lock(mutex_);
  std::size_t n = 0;
  for (const auto& [id, job] : jobs_) {
    if (job.state != JobState::running) continue;
    n += static_cast<std::size_t>(
        std::count_if(job.tasks.begin(), job.tasks.end(),
                      [](const Task& t) { return t.state == Task::State::pending; }));
  }
  return n;
}

}  // namespace topo::service
