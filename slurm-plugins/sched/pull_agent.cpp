// SPDX-License-Identifier: GPL-2.0-or-later
#include "pull_agent.h"

#include "common/controller_lock.h"
#include "common/job_record.h"
#include "common/sibling_plugins.h"
#include "common/slurm_internal.h"
#include "converge/log.h"
#include "converge/sched/pull_policy.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <vector>

namespace converge::slurm {
namespace {

namespace log = converge::log;
using namespace std::chrono_literals;

// The facts the pull policy decides on (converge/sched/pull_policy.h).
// Callers hold the job write lock (job_independent needs it).
sched::PendingJob facts_of(job_record_t* job) {
  sched::PendingJob f;
  if (!job) return f;
  f.pending = IS_JOB_PENDING(job);
  f.completing = IS_JOB_COMPLETING(job);
  f.held = job->priority == 0;
  f.has_details = job->details != nullptr;
  f.partition_schedulable = job->part_ptr && (job->part_ptr->state_up & PARTITION_SCHED);
  f.in_reservation = job->resv_name != nullptr;
  f.batch = job->batch_flag;
  if (job->details) {
    f.min_nodes = job->details->min_nodes;
    f.max_nodes = job->details->max_nodes;
  }
  f.heterogeneous = job->het_job_id != 0;
  f.array = job->array_recs || job->array_task_id != NO_VAL;
  // Asked last, as Slurm's schedulers do: it may update the job's reason.
  sched::PendingJob otherwise_pullable = f;
  otherwise_pullable.independent = true;
  f.independent = sched::pullable(otherwise_pullable) && job_independent(job);
  return f;
}

bool pullable(job_record_t* job) {
  return sched::pullable(facts_of(job));
}

std::uint32_t cpus_of(const job_record_t* job) {
  std::uint32_t cpus = job->details->min_cpus;
  return cpus ? cpus : 1;
}

std::optional<std::uint32_t> minutes(std::uint32_t value) {
  if (value == NO_VAL || value == INFINITE) return std::nullopt;
  return value;
}

std::optional<std::uint32_t> time_limit_of(const job_record_t* job) {
  const part_record_t* part = job->part_ptr;
  return sched::time_limit(minutes(job->time_limit),
                           part ? minutes(part->default_time) : std::nullopt,
                           part ? minutes(part->max_time) : std::nullopt);
}

// Backfill's plan for the jobs that are not pulled: per node, from when it
// is reserved (sched_nodes from the planned start) and for which priority.
// Callers hold the job write lock.
std::vector<sched::Reservation> reservations() {
  std::vector<sched::Reservation> out(node_record_count);
  ListIterator it = list_iterator_create(job_list);
  while (auto* job = static_cast<job_record_t*>(list_next(it))) {
    if (!IS_JOB_PENDING(job) || !job->sched_nodes || !job->start_time) continue;
    if (job_request_of(job).type == JobType::bigdata) continue;  // the pull side's own
    bitstr_t* nodes = nullptr;
    if (node_name2bitmap(job->sched_nodes, false, &nodes) == SLURM_SUCCESS && nodes) {
      for (int n = 0; n < node_record_count; ++n)
        if (bit_test(nodes, n)) out[n].add(job->start_time, job->priority);
    }
    FREE_NULL_BITMAP(nodes);
  }
  list_iterator_destroy(it);
  return out;
}

// Starts `job` on node `index`, as backfill starts a job: every other node
// excluded for the call, select_nodes, then the launch.
bool start_on(job_record_t* job, int index) {
  bitstr_t* original = job->details->exc_node_bitmap;
  bitstr_t* excluded = bit_alloc(node_record_count);
  bit_nset(excluded, 0, node_record_count - 1);
  bit_clear(excluded, index);
  if (original) bit_or(excluded, original);
  job->details->exc_node_bitmap = excluded;
  int rc = select_nodes(job, false, nullptr, nullptr, false, 0);
  if (job->details) {  // select_nodes may have replaced it
    FREE_NULL_BITMAP(job->details->exc_node_bitmap);
    job->details->exc_node_bitmap = original;
  } else {
    FREE_NULL_BITMAP(original);
  }
  if (rc != SLURM_SUCCESS) return false;
  last_job_update = time(nullptr);
  if (job->batch_flag == 0)
    srun_allocate(job);
  else if (!IS_JOB_CONFIGURING(job))
    launch_job(job);
  return true;
}

// Nodes no big-data job may use now (another class's pool, a leaf isolated
// for a heavy job): select/converge knows. Caller holds the node read lock.
bitstr_t* closed_to_bigdata() {
  bitstr_t* closed = bit_alloc(node_record_count);
  closed_nodes(JobType::bigdata, closed);
  return closed;
}

}  // namespace

void PullAgent::start() {
  thread_ = std::thread([this] { run(); });
}

void PullAgent::stop() {
  {
    converge::MutexLock lock(mutex_);
    stopping_ = true;
  }
  wakeup_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PullAgent::wake() {
  {
    converge::MutexLock lock(mutex_);
    woken_ = true;
  }
  wakeup_.notify_one();
}

std::vector<std::string> PullAgent::data_nodes(const std::string& path) const {
  std::shared_ptr<const sched::LocalityMap> locality;
  {
    converge::MutexLock lock(mutex_);
    locality = locality_;
  }
  return locality->nodes_for(path);
}

void PullAgent::set_locality(std::shared_ptr<const sched::LocalityMap> map) {
  converge::MutexLock lock(mutex_);
  locality_ = std::move(map);
}

void PullAgent::set_status_source(std::function<void(sched::SchedulerStatus&)> source) {
  converge::MutexLock lock(mutex_);
  status_source_ = std::move(source);
}

void PullAgent::write_status() {
  sched::SchedulerStatus status;
  std::function<void(sched::SchedulerStatus&)> source;
  {
    converge::MutexLock lock(mutex_);
    status.written = time(nullptr);
    status.queued = stats_.queued;
    status.realtime = stats_.realtime;
    status.pulled = stats_.pulled;
    status.attempts = stats_.attempts;
    status.locality_prefixes = locality_->size();
    status.recent.assign(recent_.begin(), recent_.end());
    source = status_source_;
  }
  if (source) source(status);
  std::string dir = slurm_conf.state_save_location ? slurm_conf.state_save_location : "";
  if (dir.empty() || !status.write(dir)) return;
  status_written_ = std::chrono::steady_clock::now();
  status_dirty_ = false;
}

void PullAgent::run() {
  while (true) {
    {
      converge::MutexLock lock(mutex_);
      if (stopping_) break;
      woken_ = false;
    }
    int started = 0;
    try {  // nothing may end slurmctld's thread: report and go on
      take_new_jobs();
      started = dispatch();
      if (started) {
        schedule_job_save();  // have their own locking
        schedule_node_save();
        status_dirty_ = true;
      }
      if (status_requested_.exchange(false)) status_dirty_ = true;
      auto since_written = std::chrono::steady_clock::now() - status_written_;
      if ((status_dirty_ && since_written > 1s) || since_written > 5s) write_status();
    } catch (const std::exception& e) {
      log::error("pull agent: {} (continuing)", e.what());
    }
    // A node leaving the completing state raises no event a plugin sees, so
    // while work waits the agent also looks every few milliseconds.
    // Work held back only by backfill's reservations waits for an event or
    // a slower look: the plan changes at backfill's pace, not every tick.
    // Rounds that start nothing back off (20 ms doubling to 200 ms), so a
    // job that can never start (more memory than any node has) is not
    // retried under the write locks fifty times a second; an event (a job
    // submitted or ended) wakes the agent at once all the same.
    idle_rounds_ = started ? 0 : std::min(idle_rounds_ + 1, 5);
    std::chrono::milliseconds backoff =
        std::min<std::chrono::milliseconds>(20ms * (1 << std::max(idle_rounds_ - 1, 0)), 200ms);
    auto pause = !queue_.size() ? 100ms : (started == 0 && blocked_by_plan_) ? 250ms : backoff;
    const auto deadline = std::chrono::steady_clock::now() + pause;
    converge::MutexLock lock(mutex_);
    while (!stopping_ && !woken_) {
      if (!wakeup_.wait_until(mutex_, deadline)) break;
    }
  }
}

void PullAgent::take_new_jobs() {
  {
    // Most ticks nothing was submitted: a read lock tells.
    ControllerLock job_read(kJobRead);
    bool unchanged =
        list_count(job_list) == last_job_count_ && last_job_update == last_job_update_seen_;
    job_read.unlock();
    if (unchanged) return;
  }
  // A write lock: real-time jobs get their priority raised above batch work,
  // so that Slurm's own schedulers, which still see every job, agree.
  ControllerLock job_write(kJobWrite);
  int count = list_count(job_list);
  last_job_count_ = count;
  last_job_update_seen_ = last_job_update;
  std::uint32_t newest = last_seen_job_;
  std::vector<sched::PullJob> fresh;
  std::shared_ptr<const sched::LocalityMap> locality;
  {
    converge::MutexLock lock(mutex_);
    locality = locality_;
  }
  auto consider = [&](job_record_t* job) {
    auto request = job_request_of(job);
    if (request.type != JobType::bigdata) return;
    auto facts = facts_of(job);
    if (!sched::pullable(facts)) {
      // Held or waiting: maybe later. Jobs that can never be pulled stay out.
      if (sched::may_become_pullable(facts)) parked_.push_back(job->job_id);
      return;
    }
    sched::PullJob p;
    p.id = job->job_id;
    p.urgency = request.priority == PriorityClass::realtime ? sched::Urgency::realtime
                                                            : sched::Urgency::batch;
    if (auto raised = sched::pull_priority(p.urgency, job->priority); raised != job->priority) {
      job->priority = raised;
      last_job_update = time(nullptr);
    }
    p.priority = job->priority;
    p.cpus = cpus_of(job);
    if (!request.data.empty()) p.data_nodes = locality->nodes_for(request.data);
    fresh.push_back(std::move(p));
  };
  std::vector<std::uint32_t> parked;
  parked.swap(parked_);
  for (auto id : parked) {
    job_record_t* job = find_job_record(id);
    if (job && IS_JOB_PENDING(job)) consider(job);
  }
  ListIterator it = list_iterator_create(job_list);
  while (auto* job = static_cast<job_record_t*>(list_next(it))) {
    if (job->job_id <= last_seen_job_) continue;
    newest = std::max(newest, job->job_id);
    consider(job);
  }
  list_iterator_destroy(it);
  job_write.unlock();
  last_seen_job_ = newest;
  for (auto& p : fresh) queue_.push(p);
  if (!fresh.empty()) status_dirty_ = true;
  converge::MutexLock lock(mutex_);
  stats_.queued = queue_.size();
  stats_.realtime = queue_.size(sched::Urgency::realtime);
}

int PullAgent::dispatch() {
  if (!queue_.size()) return 0;
  {
    // Most ticks no node has room: a read lock and a look at each node's
    // job count tell, without the write locks or a walk over the jobs.
    ControllerLock node_read(kNodeRead);
    bitstr_t* closed = closed_to_bigdata();
    bool room = false;
    for (int n = 0; n < node_record_count && !room; ++n) {
      node_record_t* node = node_record_table_ptr[n];
      room = node && bit_test(avail_node_bitmap, n) && !bit_test(cg_node_bitmap, n) &&
             !bit_test(closed, n) &&
             node->run_job_cnt < (node->cpus_efctv ? node->cpus_efctv : node->cpus);
    }
    FREE_NULL_BITMAP(closed);
    node_read.unlock();
    if (!room) return 0;
  }
  ControllerLock write({READ_LOCK, WRITE_LOCK, WRITE_LOCK, READ_LOCK, READ_LOCK});
  // CPUs in use per node, from the running jobs' resources.
  std::vector<std::uint32_t> used(node_record_count, 0);
  ListIterator it = list_iterator_create(job_list);
  while (auto* job = static_cast<job_record_t*>(list_next(it))) {
    if (!(IS_JOB_RUNNING(job) || IS_JOB_SUSPENDED(job)) || !job->job_resrcs ||
        !job->job_resrcs->node_bitmap)
      continue;
    int k = 0;
    for (int n = 0; n < node_record_count; ++n) {
      if (!bit_test(job->job_resrcs->node_bitmap, n)) continue;
      if (job->job_resrcs->cpus && k < static_cast<int>(job->job_resrcs->nhosts))
        used[n] += job->job_resrcs->cpus[k];
      ++k;
    }
  }
  list_iterator_destroy(it);

  bitstr_t* closed = closed_to_bigdata();
  std::vector<sched::Reservation> reserved = reservations();
  blocked_by_plan_ = 0;
  std::time_t now = time(nullptr);
  int started = 0;
  std::uint64_t attempts = 0;
  std::vector<int> local_work;
  for (const auto& name : queue_.nodes_with_local_work()) {
    if (node_record_t* node = find_node_record(const_cast<char*>(name.c_str())))
      local_work.push_back(node->index);
  }
  for (int n : sched::ask_order(local_work, node_record_count)) {
    if (!queue_.size()) break;
    node_record_t* node = node_record_table_ptr[n];
    if (!node || !bit_test(avail_node_bitmap, n) || bit_test(cg_node_bitmap, n) ||
        bit_test(closed, n))
      continue;
    std::uint32_t cpus = node->cpus_efctv ? node->cpus_efctv : node->cpus;
    if (used[n] >= cpus) continue;
    sched::NodeCapacity capacity{node->name, cpus - used[n], ~std::uint64_t{0}};
    std::vector<sched::PullJob> refused;  // by this node: back in the queue afterwards
    while (capacity.free_cpus > 0) {
      auto pick = queue_.best_for(capacity);
      if (!pick) break;
      queue_.remove(pick->id);
      job_record_t* job = find_job_record(pick->id);
      if (!pullable(job)) continue;  // started, cancelled or held meanwhile
      if (!sched::fits_before(job->priority, time_limit_of(job), reserved[n], now)) {
        ++blocked_by_plan_;
        refused.push_back(*pick);  // the node is kept for a reserved job
        if (refused.size() >= sched::kRefusalsPerNode) break;
        continue;
      }
      ++attempts;
      if (!start_on(job, n)) {
        refused.push_back(*pick);
        if (refused.size() >= sched::kRefusalsPerNode) break;
        continue;
      }
      ++started;
      capacity.free_cpus -= std::min(capacity.free_cpus, pick->cpus);
      used[n] += pick->cpus;  // the node may be visited again below
      std::string urgency = sched::urgency_name(pick->urgency);
      log::info("job {} ({}) pulled by {}", pick->id, urgency, node->name);
      converge::MutexLock lock(mutex_);
      recent_.push_front({pick->id, node->name, urgency, sched::decision_reason(*pick, node->name),
                          time(nullptr)});
      if (recent_.size() > sched::kRecentDecisions) recent_.pop_back();
    }
    for (const auto& r : refused) queue_.push(r);
  }
  FREE_NULL_BITMAP(closed);
  write.unlock();
  converge::MutexLock lock(mutex_);
  stats_.pulled += started;
  stats_.attempts += attempts;
  stats_.queued = queue_.size();
  stats_.realtime = queue_.size(sched::Urgency::realtime);
  return started;
}

}  // namespace converge::slurm
