// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/serve/settings.h"

#include "tdpipe/sched/scheduler.h"

#include <filesystem>

namespace tdpipe {

ServeSettings ServeSettings::load(const std::string& config_file) {
  return converge::config::load_section<ServeSettings>(config_file, "tdpipe");
}

void ServeSettings::apply(const converge::config::Node& t) {
  t.allow_only({"model", "predictor", "scheduler", "kv_blocks", "step_tokens", "max_batch_seqs",
                "max_waiting", "max_body_bytes", "threads"});
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
