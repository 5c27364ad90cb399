// SPDX-License-Identifier: GPL-2.0-or-later
//
// A simulated deployment from its description: which model on which GPUs,
// pipeline stages or tensor parallelism, which cost source; the KV cache
// is what the GPUs' memory holds beside the weights.
#pragma once

#include "tdpipe/sim/cost_model.h"
#include "tdpipe/sim/simulator.h"

#include <string>

namespace tdpipe::sim {

struct Deployment {
  std::string model = "llama2-13b";
  std::string gpu = "h200";
  int gpus = 4;
  bool tensor_parallel = false;  // else one pipeline stage per GPU
  std::string profile;           // the profile CSV; empty: the roofline for every GPU
  RooflineFit fit;               // the roofline's efficiencies (fit_roofline)
  double memory_fraction = 0.9;  // of each GPU's memory for weights and KV (vLLM's default)
  double reserve = 2e9;          // bytes per GPU for activations and the runtime
  int max_batch_tokens = 4096, max_batch_seqs = 256, chunk_tokens = 512;
  double kv_fraction = 0.9;
};

// KV blocks of 16 positions the deployment holds (the least any stage
// holds). Throws std::invalid_argument if the weights do not fit.
int kv_blocks(const Deployment& d);

// The simulator's setup for `scheduler` on the deployment ("tp" is the
// continuous scheduler on tensor-parallel GPUs).
SimSetup make_setup(const Deployment& d, const std::string& scheduler);

}  // namespace tdpipe::sim
