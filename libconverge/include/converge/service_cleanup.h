// SPDX-License-Identifier: GPL-2.0-or-later
//
// The last word on a job's services on one node: stop every process marked
// as a service of (job, node) and detach the mounts they left. converge-launch
// runs it when it stops; the SPANK plugin runs it in the job's epilog, so
// nothing survives a job even when its service step was killed outright.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace converge {

struct CleanupReport {
  int processes_stopped = 0;
  std::vector<std::string> unmounted;
};

CleanupReport cleanup_services(const std::string& job_id, const std::string& node,
                               const std::vector<std::string>& mounts,
                               std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

}  // namespace converge
