// SPDX-License-Identifier: GPL-2.0-or-later
#include "pmix_session.h"

#include <fmt/format.h>
#include <pmix.h>

#include <algorithm>
#include <cstring>

namespace converge::launch {
namespace {

void check(pmix_status_t rc, const char* what) {
  if (rc != PMIX_SUCCESS) throw PmixError(fmt::format("{}: {}", what, PMIx_Error_string(rc)));
}

}  // namespace

PmixSession::PmixSession() {
  pmix_proc_t me;
  check(PMIx_Init(&me, nullptr, 0), "PMIx_Init (run under srun --mpi=pmix)");
  nspace_ = me.nspace;
  rank_ = me.rank;
  pmix_proc_t job;
  PMIX_PROC_CONSTRUCT(&job);
  PMIX_LOAD_NSPACE(job.nspace, me.nspace);
  job.rank = PMIX_RANK_WILDCARD;
  pmix_value_t* size = nullptr;
  check(PMIx_Get(&job, PMIX_JOB_SIZE, nullptr, 0, &size), "PMIx_Get(job size)");
  size_ = size->data.uint32;
  PMIX_VALUE_RELEASE(size);
}

PmixSession::~PmixSession() {
  PMIx_Finalize(nullptr, 0);
}

void PmixSession::put(const std::string& key, const std::string& value) {
  pmix_value_t v;
  PMIX_VALUE_CONSTRUCT(&v);
  v.type = PMIX_STRING;
  v.data.string = const_cast<char*>(value.c_str());
  check(PMIx_Put(PMIX_GLOBAL, key.c_str(), &v), "PMIx_Put");
}

void PmixSession::fence(std::chrono::milliseconds limit) {
  check(PMIx_Commit(), "PMIx_Commit");
  pmix_info_t info[2];
  PMIX_INFO_CONSTRUCT(&info[0]);
  PMIX_INFO_CONSTRUCT(&info[1]);
  bool collect = true;
  // The server gives up too, so the other ranks' fences end as well.
  int timeout_s = static_cast<int>(std::max<long>(1, (limit.count() + 999) / 1000));
  PMIX_INFO_LOAD(&info[0], PMIX_COLLECT_DATA, &collect, PMIX_BOOL);
  PMIX_INFO_LOAD(&info[1], PMIX_TIMEOUT, &timeout_s, PMIX_INT);
  FenceWait& wait = fences_.emplace_back();
  auto completed = [](pmix_status_t status, void* cbdata) {
    auto* w = static_cast<FenceWait*>(cbdata);
    std::lock_guard lock(w->mutex);
    w->completed = true;
    w->status = status;
    w->done.notify_all();
  };
  pmix_status_t rc = PMIx_Fence_nb(nullptr, 0, info, 2, completed, &wait);
  PMIX_INFO_DESTRUCT(&info[0]);
  PMIX_INFO_DESTRUCT(&info[1]);
  check(rc, "PMIx_Fence_nb");
  std::unique_lock lock(wait.mutex);
  // A little past the server's own limit: its answer, if it comes, says more.
  if (!wait.done.wait_for(lock, limit + std::chrono::seconds(2), [&] { return wait.completed; })) {
    throw PmixStalled(fmt::format("PMIx fence not complete after {} s (a rank never arrived)",
                                  (limit.count() + 999) / 1000));
  }
  if (wait.status == PMIX_ERR_TIMEOUT) {
    throw PmixStalled(
        fmt::format("PMIx fence timed out after {} s (a rank never arrived)", timeout_s));
  }
  check(wait.status, "PMIx_Fence");
}

std::string PmixSession::get(unsigned rank, const std::string& key) {
  pmix_proc_t proc;
  PMIX_PROC_CONSTRUCT(&proc);
  PMIX_LOAD_NSPACE(proc.nspace, nspace_.c_str());
  proc.rank = rank;
  pmix_value_t* value = nullptr;
  pmix_status_t rc = PMIx_Get(&proc, key.c_str(), nullptr, 0, &value);
  if (rc == PMIX_ERR_NOT_FOUND) {
    // Seen with Slurm 22.05's tree fences (routed through slurmd): after a
    // fence that quickly followed another, this node's cache may still hold
    // the rank's data from the one before. Ask the rank's node instead.
    pmix_info_t info[2];
    PMIX_INFO_CONSTRUCT(&info[0]);
    PMIX_INFO_CONSTRUCT(&info[1]);
    bool refresh = true;
    int timeout_s = 10;
    PMIX_INFO_LOAD(&info[0], PMIX_GET_REFRESH_CACHE, &refresh, PMIX_BOOL);
    PMIX_INFO_LOAD(&info[1], PMIX_TIMEOUT, &timeout_s, PMIX_INT);
    rc = PMIx_Get(&proc, key.c_str(), info, 2, &value);
    PMIX_INFO_DESTRUCT(&info[0]);
    PMIX_INFO_DESTRUCT(&info[1]);
  }
  check(rc, fmt::format("PMIx_Get({}, rank {})", key, rank).c_str());
  std::string out = value->type == PMIX_STRING && value->data.string ? value->data.string : "";
  PMIX_VALUE_RELEASE(value);
  return out;
}

}  // namespace converge::launch
