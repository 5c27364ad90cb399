// SPDX-License-Identifier: GPL-2.0-or-later
//
// The last word on a job's services on one node: stop every process marked
// as a service of (job, node) and detach the mounts they left. converge-launch
// runs it when it stops; the SPANK plugin runs it in the job's epilog, so
// nothing survives a job even when its service step was killed outright.
//
// Both run it for the job's user (`owner`): only that user's processes are
// stopped and only mounts served by that user's FUSE daemons detached. The
// service marker and the mount path are the user's to forge or rearrange,
// so they select among the user's own things and never reach anyone else's.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace converge {

struct CleanupReport {
  int processes_stopped = 0;
  std::vector<std::string> unmounted;
  std::vector<std::string> problems;  // mounts left alone, one line each
};

CleanupReport cleanup_services(const std::string& job_id, const std::string& node, uid_t owner,
                               const std::vector<std::string>& mounts,
                               std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

}  // namespace converge
