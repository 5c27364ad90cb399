// SPDX-License-Identifier: GPL-2.0-or-later
//
// Levelled logging shared by every Converge program and plugin. Programs log
// to stderr; plugins install a sink that forwards into Slurm's own log.
#pragma once

#include <fmt/format.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace converge::log {

enum class Level { error = 0, warning, info, verbose, debug };

std::string_view to_string(Level level);
std::optional<Level> parse_level(std::string_view text);

void set_level(Level level);
Level level();
inline bool enabled(Level l) {
  return static_cast<int>(l) <= static_cast<int>(level());
}

// The sink receives complete messages; the default one writes
// "<program>: <level>: <message>" to stderr.
using Sink = std::function<void(Level, std::string_view)>;
void set_sink(Sink sink);
void set_program_name(std::string name);

void write(Level level, std::string_view message);

template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::error)) write(Level::error, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warning(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::warning)) write(Level::warning, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::info)) write(Level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void verbose(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::verbose)) write(Level::verbose, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::debug)) write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace converge::log
