// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/service_cleanup.h"

#include "converge/launch_settings.h"
#include "converge/mounts.h"
#include "converge/process.h"

#include <thread>

namespace converge {

CleanupReport cleanup_services(const std::string& job_id, const std::string& node,
                               const std::vector<std::string>& mounts,
                               std::chrono::milliseconds grace) {
  CleanupReport report;
  auto ids = process::find_by_environment(service_marker(job_id, node));
  // Signal all first, so they wind down together, then wait for each.
  std::vector<std::thread> stoppers;
  stoppers.reserve(ids.size());
  for (const auto& id : ids) {
    stoppers.emplace_back([id, grace] { process::terminate(id, grace); });
  }
  for (auto& t : stoppers) t.join();
  report.processes_stopped = static_cast<int>(ids.size());
  for (const auto& m : mounts) {
    if (mounts::is_mounted(m) && mounts::unmount(m)) report.unmounted.push_back(m);
  }
  return report;
}

}  // namespace converge
