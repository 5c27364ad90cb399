// SPDX-License-Identifier: GPL-2.0-or-later
//
// What sched/converge is doing, for admins: the pull queue by class, the
// decisions it made last, the pools and their recent moves. slurmctld's
// plugin writes it to StateSaveLocation/converge-status.json every few
// seconds; `converge-admin status` reads it. This struct is the file's only
// definition: both sides convert through it.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <ctime>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace converge::sched {

struct PullDecision {
  std::uint32_t job = 0;
  std::string node;
  std::string urgency;  // "realtime" or "batch"
  std::string reason;
  std::time_t at = 0;
};

struct PoolStatus {
  std::vector<std::string> nodes;
  std::uint32_t min_nodes = 0, max_nodes = 0;  // max 0: no limit
  std::uint64_t pending_cpus = 0, idle_nodes = 0;
};

struct PoolMoveRecord {
  std::string node, from, to, reason;
  std::time_t at = 0;
};

struct SchedulerStatus {
  static constexpr const char* kFileName = "converge-status.json";

  std::time_t written = 0;
  std::uint64_t queued = 0, realtime = 0;  // waiting big-data jobs; batch = queued - realtime
  std::uint64_t pulled = 0, attempts = 0;  // jobs started by the pull side, select_nodes calls
  std::uint64_t locality_prefixes = 0;
  std::vector<PullDecision> recent;  // newest first
  std::map<std::string, PoolStatus> pools;
  std::vector<PoolMoveRecord> moves;  // newest first

  nlohmann::json to_json() const;
  // Throws StatusError naming what is missing or of the wrong type.
  static SchedulerStatus from_json(const nlohmann::json& j);

  // Atomic replacement of DIR/converge-status.json; false if it could not be written.
  bool write(const std::string& dir) const;
  // Throws StatusError (missing file, bad JSON, bad content), one line.
  static SchedulerStatus read(const std::string& dir);
};

class StatusError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace converge::sched
