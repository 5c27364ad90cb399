// SPDX-License-Identifier: GPL-2.0-or-later
#include "common/slurm_internal.h"

#include "common/slurm_log_sink.h"

#include <string>

namespace converge::slurm {

void install_log_sink(const char* plugin_type) {
  std::string prefix = plugin_type;
  log::set_sink([prefix](log::Level level, std::string_view message) {
    int length = static_cast<int>(message.size());
    switch (level) {
      case log::Level::error:
        ::error("%s: %.*s", prefix.c_str(), length, message.data());
        break;
      case log::Level::warning:
        log_var(LOG_LEVEL_INFO, "%s: warning: %.*s", prefix.c_str(), length, message.data());
        break;
      case log::Level::info:
        log_var(LOG_LEVEL_INFO, "%s: %.*s", prefix.c_str(), length, message.data());
        break;
      case log::Level::verbose:
        log_var(LOG_LEVEL_VERBOSE, "%s: %.*s", prefix.c_str(), length, message.data());
        break;
      case log::Level::debug:
        log_var(LOG_LEVEL_DEBUG, "%s: %.*s", prefix.c_str(), length, message.data());
        break;
    }
  });
  // Slurm's own log level decides what reaches the file; let everything through.
  log::set_level(log::Level::debug);
}

}  // namespace converge::slurm
