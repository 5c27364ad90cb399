// SPDX-License-Identifier: GPL-2.0-or-later
//
// Reads Converge's request (--converge-type, --converge-services) back from a
// job record in slurmctld, where the SPANK plugin's options arrive in the
// job's SPANK environment.
#pragma once

#include "common/slurm_internal.h"
#include "converge/job_request.h"

namespace converge::slurm {

inline JobRequest job_request_of(const job_record_t* job) {
  if (!job || !job->spank_job_env) return {};
  return JobRequest::from_spank_env(job->spank_job_env, job->spank_job_env_size);
}

}  // namespace converge::slurm
