// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/sched/policies.h"

#include <stdexcept>

namespace tdpipe {

const std::vector<std::string>& scheduler_names() {
  static const std::vector<std::string> names{"tdpipe", "vllm-pp", "vllm-chunked", "chunked",
                                              "continuous"};
  return names;
}

std::unique_ptr<Scheduler> make_scheduler(const std::string& name, const SchedulerConfig& config) {
  if (name == "tdpipe") return std::make_unique<TdpipeScheduler>(config);
  if (name == "vllm-pp") return std::make_unique<VllmPipelineScheduler>(config);
  if (name == "vllm-chunked") return std::make_unique<VllmChunkedScheduler>(config);
  if (name == "chunked") return std::make_unique<ChunkedPrefillScheduler>(config);
  if (name == "continuous") return std::make_unique<ContinuousScheduler>(config);
  std::string choices;
  for (const auto& n : scheduler_names()) choices += (choices.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown scheduler \"" + name + "\" (choose " + choices + ")");
}

}  // namespace tdpipe
