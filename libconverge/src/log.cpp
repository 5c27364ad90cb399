// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/log.h"

#include "converge/mutex.h"

#include <atomic>
#include <cstdio>

namespace converge::log {
namespace {

std::atomic<Level> g_level{Level::info};
Mutex g_mutex;
std::string g_program CONVERGE_GUARDED_BY(g_mutex) = "converge";
Sink g_sink CONVERGE_GUARDED_BY(g_mutex);

}  // namespace

std::string_view to_string(Level level) {
  switch (level) {
    case Level::error:
      return "error";
    case Level::warning:
      return "warning";
    case Level::info:
      return "info";
    case Level::verbose:
      return "verbose";
    case Level::debug:
      return "debug";
  }
  return "unknown";
}

std::optional<Level> parse_level(std::string_view text) {
  for (Level l : {Level::error, Level::warning, Level::info, Level::verbose, Level::debug}) {
    if (text == to_string(l)) return l;
  }
  return std::nullopt;
}

void set_level(Level level) {
  g_level.store(level);
}
Level level() {
  return g_level.load(std::memory_order_relaxed);
}

void set_sink(Sink sink) {
  MutexLock lock(g_mutex);
  g_sink = std::move(sink);
}

void set_program_name(std::string name) {
  MutexLock lock(g_mutex);
  g_program = std::move(name);
}

void write(Level level, std::string_view message) {
  MutexLock lock(g_mutex);
  if (g_sink) {
    g_sink(level, message);
    return;
  }
  if (level == Level::info) {
    fmt::print(stderr, "{}: {}\n", g_program, message);
  } else {
    fmt::print(stderr, "{}: {}: {}\n", g_program, to_string(level), message);
  }
}

}  // namespace converge::log
