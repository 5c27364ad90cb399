// SPDX-License-Identifier: GPL-2.0-or-later
//
// Starting, finding and stopping the processes Converge owns (Slurm daemons
// of the local cluster now, service daemons later). A process is identified
// by pid plus its start time, so a recycled pid is never mistaken for ours.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace converge::process {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ProcessId {
  pid_t pid = 0;
  std::uint64_t start_time = 0;  // clock ticks since boot (/proc/PID/stat field 22)

  bool operator==(const ProcessId&) const = default;
};

std::optional<std::uint64_t> start_time_of(pid_t pid);
// True while the process exists, is the one recorded, and is not a zombie.
bool alive(const ProcessId& id);

struct SpawnOptions {
  std::vector<std::string> argv;
  std::vector<std::string> extra_env;  // "NAME=value", added to ours
  std::string log_path;                // stdout and stderr, appended
  std::string working_dir;             // empty: inherit
  std::vector<unsigned> cpus = {};     // OS CPU numbers to bind to; empty: inherit
  // Listening sockets handed down as descriptors 3, 4, ... with
  // CONVERGE_LISTEN_FDS set (net.h, take_inherited_listener).
  std::vector<int> listening_fds = {};
};

// Starts a detached daemon in its own session; throws Error (with the
// reason) if it cannot be executed.
ProcessId spawn_detached(const SpawnOptions& options);

// SIGTERM, then SIGKILL after `grace`; returns once the process is gone.
void terminate(const ProcessId& id, std::chrono::milliseconds grace);
// SIGTERM to all at once, SIGKILL to those left after `grace`, then at most
// `kill_wait` more for them to go. One thread, bounded: returns how many
// are still alive (stuck in the kernel, say).
std::size_t terminate_all(const std::vector<ProcessId>& ids, std::chrono::milliseconds grace,
                          std::chrono::milliseconds kill_wait = std::chrono::seconds(10));

struct RunResult {
  int exit_code = -1;  // 128+signal when killed by a signal
  std::string output;  // stdout and stderr together
};

// Runs a command to completion and captures its output.
RunResult run(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {});

// Processes whose initial environment holds exactly `entry` ("NAME=value").
std::vector<ProcessId> find_by_environment(const std::string& entry);
// The same, but only those whose real and effective uid are `uid`: a
// process's environment is its own user's to write, so an entry proves
// nothing about processes of anyone else.
std::vector<ProcessId> find_by_environment(const std::string& entry, uid_t uid);

// True if the process's real and effective uid are both `uid`.
bool runs_as(pid_t pid, uid_t uid);

// Processes with an entry that starts with `prefix` ("NAME="), and that entry.
std::vector<std::pair<ProcessId, std::string>> find_by_environment_prefix(
    const std::string& prefix);

std::optional<std::string> find_program(const std::string& name);
std::string executable_dir();  // directory of /proc/self/exe

// Pid files hold "PID START_TIME".
void write_pid_file(const std::string& path, const ProcessId& id);
std::optional<ProcessId> read_pid_file(const std::string& path);

}  // namespace converge::process
