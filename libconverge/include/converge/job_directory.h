// SPDX-License-Identifier: GPL-2.0-or-later
//
// A job's private directory (`launcher.job_dir`, e.g. /var/tmp/converge-jobs/%j),
// made by root in the job's slurmstepd before any of the job's processes run:
// owned by the job's user, mode 0700, under a parent that only root may
// change. The user's own processes (converge-launch, the services) then write
// inside it; they never have to create it under a root-owned parent, and no
// other user can create it first or swap it for a symlink.
#pragma once

#include <sys/types.h>

#include <stdexcept>
#include <string>

namespace converge {

struct JobDirectoryError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class JobDirectoryOutcome { kCreated, kAlreadyThere };

// Makes `path` (absolute) for the job's `uid`/`gid`: missing parents are made
// root-owned with mode 0755; the parent must be a real directory that no one
// but its owner (root, or the caller) can change, unless it is sticky; an
// existing `path` is accepted only if it is a real directory owned by `uid`.
// Throws JobDirectoryError with a one-line reason otherwise.
JobDirectoryOutcome prepare_job_directory(const std::string& path, uid_t uid, gid_t gid);

// Whether `parent` may hold job directories: a real directory owned by root
// (or the caller) that no one else can change unless it is sticky. Throws
// JobDirectoryError with the reason.
void check_job_directory_parent(const std::string& parent);

}  // namespace converge
