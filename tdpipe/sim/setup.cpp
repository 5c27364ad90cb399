// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/sim/setup.h"

#include "tdpipe/engine/kv_cache.h"
#include "tdpipe/model/layer_split.h"

#include <algorithm>
#include <stdexcept>

namespace tdpipe::sim {
namespace {

std::shared_ptr<const LayerCost> layer_cost(const Deployment& d, int gpus) {
  const LlamaShape& shape = shape_named(d.model);
  const Gpu& gpu = gpu_named(d.gpu);
  auto roofline = std::make_shared<RooflineLayerCost>(shape, gpu, d.fit, gpus);
  if (d.profile.empty() || d.gpu != "h200") return roofline;
  auto measured = std::make_shared<ProfileLayerCost>(d.profile, d.model);
  if (gpus == 1) return measured;
  return std::make_shared<ScaledLayerCost>(
      measured, std::make_shared<RooflineLayerCost>(shape, gpu, d.fit, 1), roofline);
}

}  // namespace

int kv_blocks(const Deployment& d) {
  const LlamaShape& shape = shape_named(d.model);
  const Gpu& gpu = gpu_named(d.gpu);
  if (d.gpus < 1) throw std::invalid_argument("at least one GPU");
  const double usable = gpu.memory * d.memory_fraction - d.reserve;
  const double embedding = 2.0 * shape.vocab * shape.dim * 2;  // embedding and classifier, bf16
  double tokens = 0;
  if (d.tensor_parallel) {
    double weights = (shape.layers * shape.layer_params() * 2 + embedding) / d.gpus;
    tokens = (usable - weights) * d.gpus / (shape.layers * shape.kv_bytes_per_token_layer());
  } else {
    tokens = 1e300;
    for (auto [first, last] : split_layers(shape.layers, d.gpus)) {
      double layers = last - first;
      double weights = layers * shape.layer_params() * 2 + embedding / 2;
      tokens = std::min(tokens, (usable - weights) / (layers * shape.kv_bytes_per_token_layer()));
    }
  }
  if (tokens < kBlockTokens)
    throw std::invalid_argument(d.model + " does not fit " + std::to_string(d.gpus) + " " + d.gpu);
  return int(std::min(tokens / kBlockTokens, 2e9));
}

SimSetup make_setup(const Deployment& d, const std::string& scheduler) {
  const LlamaShape& shape = shape_named(d.model);
  const Gpu& gpu = gpu_named(d.gpu);
  SimSetup setup;
  const bool tp = scheduler == "tp";
  if (tp != d.tensor_parallel)
    throw std::invalid_argument("the tp scheduler needs a tensor-parallel deployment, and only it");
  setup.scheduler = tp ? "continuous" : scheduler;
  const int stages = tp ? 1 : d.gpus;
  auto layer = layer_cost(d, tp ? d.gpus : 1);
  for (auto [first, last] : split_layers(shape.layers, stages))
    setup.stage_costs.push_back(std::make_shared<LayersCost>(layer, last - first));
  setup.config.stages = stages;
  setup.config.kv_blocks = kv_blocks(d);
  setup.config.max_batch_tokens = d.max_batch_tokens;
  setup.config.max_batch_seqs = d.max_batch_seqs;
  setup.config.chunk_tokens = d.chunk_tokens;
  setup.config.kv_fraction = d.kv_fraction;
  setup.config.cost = setup.stage_costs.front().get();
  setup.transfer_bytes_per_token = 2.0 * shape.dim;
  setup.link = gpu.link;
  setup.link_latency = gpu.link_latency;
  return setup;
}

}  // namespace tdpipe::sim
