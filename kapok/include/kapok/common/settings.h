// SPDX-License-Identifier: GPL-2.0-or-later
//
// Kapok's settings: the "kapok" section of converge.json, shared by servers
// and clients so both agree on thresholds and timeouts.
#pragma once

#include "converge/config.h"
#include "kapok/common/durability.h"

#include <chrono>
#include <cstdint>
#include <string>

namespace kapok {

struct Settings {
  std::uint64_t inline_threshold = 64u << 10;
  std::uint64_t stripe_size = 1u << 20;
  std::uint32_t stripe_count = 0;  // 0: all data servers
  // A directory with more entries than this is split over all metadata servers.
  std::uint64_t split_threshold = 4096;
  std::uint64_t device_bytes = 1ull << 30;
  // sync commits at once and shares the sync among concurrent writers;
  // group_commit waits up to commit_window for more writers first.
  Durability durability = Durability::sync;
  std::chrono::microseconds commit_window{2000};
  std::chrono::milliseconds rpc_timeout{10000};

  // Reads the "kapok" section if the file has one; throws config::Error.
  static Settings load(const std::string& config_file);
  void apply(const converge::config::Node& section);
};

}  // namespace kapok
