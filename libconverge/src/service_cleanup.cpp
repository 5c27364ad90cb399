// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/service_cleanup.h"

#include "converge/launch_settings.h"
#include "converge/mounts.h"
#include "converge/process.h"

namespace converge {

CleanupReport cleanup_services(const std::string& job_id, const std::string& node, uid_t owner,
                               const std::vector<std::string>& mounts,
                               std::chrono::milliseconds grace) {
  CleanupReport report;
  auto ids = process::find_by_environment(service_marker(job_id, node), owner);
  // All signalled at once, from this thread: slurmstepd calls this, where a
  // thread per process could fail to start and a wait must end.
  std::size_t left = process::terminate_all(ids, grace);
  report.processes_stopped = static_cast<int>(ids.size() - left);
  for (const auto& m : mounts) {
    // Only Kapok's own mounts, and only the owner's: as root, never detach
    // whatever else a user placed (or linked) at the path.
    std::string why;
    switch (mounts::unmount_owned(m, "fuse.kapok", owner, &why)) {
      case mounts::UnmountOutcome::kDetached:
        report.unmounted.push_back(m);
        break;
      case mounts::UnmountOutcome::kNotMounted:
        break;
      case mounts::UnmountOutcome::kRefused:
      case mounts::UnmountOutcome::kFailed:
        report.problems.push_back(why);
        break;
    }
  }
  return report;
}

}  // namespace converge
