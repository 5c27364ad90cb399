// SPDX-License-Identifier: GPL-2.0-or-later
#include "kapok/common/settings.h"

namespace kapok {

Settings Settings::load(const std::string& config_file) {
  return converge::config::load_section<Settings>(config_file, "kapok");
}

void Settings::apply(const converge::config::Node& k) {
  k.allow_only({"inline_threshold", "stripe_size", "stripe_count", "split_threshold", "device_mb",
                "durability", "commit_window_us", "rpc_timeout_ms"});
  if (auto v = k.find("inline_threshold"))
    inline_threshold = static_cast<std::uint64_t>(v->as_int(0, 120 << 10));
  if (auto v = k.find("stripe_size"))
    stripe_size = static_cast<std::uint64_t>(v->as_int(4096, 64 << 20));
  if (auto v = k.find("stripe_count"))
    stripe_count = static_cast<std::uint32_t>(v->as_int(0, 4096));
  if (auto v = k.find("split_threshold"))
    split_threshold = static_cast<std::uint64_t>(v->as_int(8, 1 << 24));
  if (auto v = k.find("device_mb"))
    device_bytes = static_cast<std::uint64_t>(v->as_int(16, 1 << 22)) << 20;
  if (auto v = k.find("durability")) {
    durability = v->as_enum({"sync", "group_commit"}) == "sync" ? Durability::sync
                                                                : Durability::group_commit;
  }
  if (auto v = k.find("commit_window_us"))
    commit_window = std::chrono::microseconds(v->as_int(50, 1'000'000));
  if (auto v = k.find("rpc_timeout_ms"))
    rpc_timeout = std::chrono::milliseconds(v->as_int(10, 3'600'000));
}

}  // namespace kapok
