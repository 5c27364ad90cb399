// SPDX-License-Identifier: GPL-2.0-or-later
//
// Plugins run inside Slurm's processes: libconverge's log goes into Slurm's
// log (slurmctld.log, slurmd.log, or the client's stderr) with the plugin's
// type as prefix, and no exception may cross into Slurm's C code.
#pragma once

#include "converge/log.h"

#include <exception>
#include <utility>

namespace converge::slurm {

void install_log_sink(const char* plugin_type);

// Calls fn(); an escaping exception is logged and turned into `on_error`.
template <typename Result, typename Fn>
Result guarded(const char* operation, Result on_error, Fn&& fn) noexcept {
  try {
    return std::forward<Fn>(fn)();
  } catch (const std::exception& e) {
    log::error("{}: {}", operation, e.what());
  } catch (...) {
    log::error("{}: unknown exception", operation);
  }
  return on_error;
}

}  // namespace converge::slurm
