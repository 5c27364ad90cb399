// SPDX-License-Identifier: GPL-2.0-or-later
//
// What a user asks of Converge for one job: its class (--converge-type) and
// the services it wants inside its allocation (--converge-services). Parsed
// by the SPANK plugin on the submit side and read back by the controller's
// plugins from the job record's SPANK environment.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace converge {

enum class JobType { sim, bigdata, ai };

class JobRequestError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

std::string_view to_string(JobType type);
// Throws JobRequestError with a message fit for the user.
JobType parse_job_type(std::string_view text);

// Big-data jobs come in two priority classes: real-time work goes ahead of
// batch work (--converge-priority).
enum class PriorityClass { realtime, batch };
std::string_view to_string(PriorityClass priority);
PriorityClass parse_priority_class(std::string_view text);

// How much a multi-node job talks between its nodes (--converge-comm):
// heavy jobs get whole leaf switches to themselves when possible.
enum class CommPattern { normal, heavy };
std::string_view to_string(CommPattern comm);
CommPattern parse_comm_pattern(std::string_view text);

// --converge-data: the job's input, an absolute path on Kapok, whose holders
// the scheduler prefers.
std::string parse_data_path(std::string_view text);

// The services Converge ships descriptors for; a site may add its own.
const std::vector<std::string>& builtin_services();
// "kapok,topo" -> {"kapok","topo"}; rejects empty, malformed and repeated
// names, and names not in `known` unless `known` is empty (sbatch checks
// against the installed descriptors; later readers only parse).
std::vector<std::string> parse_services(std::string_view list,
                                        const std::vector<std::string>& known);

// SPANK options travel as "_SLURM_SPANK_OPTION_<plugin>_<option>=value" in the
// job's SPANK environment (prefixed "SPANK_" in some contexts); Slurm turns
// every non-alphanumeric character of the names into '_'.
std::string spank_option_variable(std::string_view plugin, std::string_view option);

struct JobRequest {
  std::optional<JobType> type;
  std::vector<std::string> services;
  PriorityClass priority = PriorityClass::batch;
  std::string data;  // empty: none named
  CommPattern comm = CommPattern::normal;

  // Reads the request from a job's SPANK environment ("NAME=value" entries).
  // Unparseable values (a hand-edited environment) are ignored, not fatal:
  // the controller must never fail on a job record.
  static JobRequest from_spank_env(const char* const* env, std::size_t count);
};

}  // namespace converge
