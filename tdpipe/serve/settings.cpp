// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/serve/settings.h"

#include "tdpipe/sched/scheduler.h"

#include <algorithm>
#include <filesystem>

namespace tdpipe {

ServeSettings ServeSettings::load(const std::string& config_file) {
  return converge::config::load_section<ServeSettings>(config_file, "tdpipe");
}

void ServeSettings::apply(const converge::config::Node& t) {
  t.allow_only({"model", "predictor", "scheduler", "kv_blocks", "step_tokens", "max_batch_seqs",
                "max_waiting", "max_body_bytes", "threads", "max_connections", "max_buffered_bytes",
                "request_timeout_ms", "keep_alive_ms"});
  if (auto v = t.find("model")) model = v->as_string();
  if (auto v = t.find("predictor")) predictor = v->as_string();
  if (auto v = t.find("scheduler"))
    scheduler = v->as_enum({"tdpipe", "vllm-pp", "chunked", "continuous"});
  if (auto v = t.find("kv_blocks")) kv_blocks = int(v->as_int(0, 1 << 24));
  if (auto v = t.find("step_tokens")) step_tokens = int(v->as_int(1, 1 << 20));
  if (auto v = t.find("max_batch_seqs")) max_batch_seqs = int(v->as_int(1, 1 << 16));
  if (auto v = t.find("max_waiting")) max_waiting = int(v->as_int(1, 1 << 24));
  if (auto v = t.find("max_body_bytes")) max_body_bytes = std::size_t(v->as_int(1024, 1 << 30));
  if (auto v = t.find("threads")) threads = int(v->as_int(1, 4096));
  if (auto v = t.find("max_connections")) max_connections = int(v->as_int(1, 1 << 20));
  if (auto v = t.find("max_buffered_bytes"))
    max_buffered_bytes = std::size_t(v->as_int(1 << 20, std::int64_t(1) << 40));
  if (auto v = t.find("request_timeout_ms")) request_timeout_ms = int(v->as_int(100, 3600000));
  if (auto v = t.find("keep_alive_ms")) keep_alive_ms = int(v->as_int(100, 3600000));
}

ListenerLimits ServeSettings::listener_limits() const {
  ListenerLimits limits;
  limits.threads = threads;
  limits.max_connections = max_connections;
  limits.max_body_bytes = max_body_bytes;
  limits.max_buffered_bytes = std::max(max_buffered_bytes, max_body_bytes + limits.max_head_bytes);
  limits.request_timeout = std::chrono::milliseconds(request_timeout_ms);
  limits.keep_alive = std::chrono::milliseconds(keep_alive_ms);
  return limits;
}

std::string default_model_path() {
  std::error_code error;
  auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  return (self.parent_path() / ".." / "share" / "converge" / "models" / "stories260K.bin")
      .lexically_normal()
      .string();
}

std::string default_predictor_path(const std::string& model) {
  std::filesystem::path p(model);
  p.replace_extension(".predictor.json");
  std::error_code error;
  return std::filesystem::exists(p, error) ? p.string() : std::string();
}

}  // namespace tdpipe
