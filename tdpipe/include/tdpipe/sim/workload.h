// SPDX-License-Identifier: GPL-2.0-or-later
//
// Requests for the simulator: synthetic ShareGPT-like lengths (log-normal
// prompt and output lengths; parameters in WorkloadShape, documented in
// docs/tdpipe.md), or a workload file of "prompt_tokens,output_tokens"
// lines with an optional third column, the arrival time in seconds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tdpipe::sim {

struct SimRequest {
  std::uint64_t id = 0;
  int prompt = 0;      // tokens
  int output = 0;      // tokens it will generate
  double arrival = 0;  // seconds
};

struct WorkloadShape {
  double prompt_mu = 5.2, prompt_sigma = 1.0;  // log-normal: median e^mu
  double output_mu = 5.1, output_sigma = 0.9;
  int min_tokens = 4, max_prompt = 2048, max_output = 2048, max_total = 4096;
};

// `count` requests from `seed`; all at time 0 when `rate` is 0, else
// Poisson arrivals at `rate` per second. The same on every machine.
std::vector<SimRequest> sharegpt_like(int count, std::uint64_t seed, double rate = 0,
                                      const WorkloadShape& shape = {});
// Throws std::runtime_error naming the file and line of a bad row.
std::vector<SimRequest> read_workload(const std::string& path);

}  // namespace tdpipe::sim
