// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/sim/hardware.h"

#include <stdexcept>

namespace tdpipe::sim {

double LlamaShape::layer_params() const {
  // Attention: q and o are dim x dim, k and v dim x kv_dim; SwiGLU: three dim x hidden.
  return 2.0 * dim * dim + 2.0 * dim * kv_dim() + 3.0 * dim * double(hidden);
}

double LlamaShape::total_params() const {
  return layers * layer_params() + 2.0 * vocab * dim;
}

const std::vector<LlamaShape>& shapes() {
  static const std::vector<LlamaShape> all{
      {"llama2-13b", 40, 5120, 40, 40, 13824, 32000},
      {"llama2-34b", 48, 8192, 64, 8, 22016, 32000},
      {"llama2-70b", 80, 8192, 64, 8, 28672, 32000},
  };
  return all;
}

const LlamaShape& shape_named(const std::string& name) {
  for (const auto& s : shapes())
    if (s.name == name) return s;
  throw std::invalid_argument("unknown model shape \"" + name +
                              "\" (llama2-13b, llama2-34b, llama2-70b)");
}

const Gpu& gpu_named(const std::string& name) {
  // Published figures: H200 SXM (989 TFLOP/s bf16 dense, 4.8 TB/s, 141 GB,
  // NVLink 450 GB/s each way); A100 SXM 80 GB (312 TFLOP/s, 2.04 TB/s,
  // NVLink 300 GB/s); L20 (119.5 TFLOP/s, 864 GB/s GDDR6, 48 GB, PCIe 4.0
  // x16 at about 25 GB/s in practice).
  static const std::vector<Gpu> all{
      {"h200", 989e12, 4.8e12, 141e9, 450e9, 10e-6},
      {"a100", 312e12, 2.039e12, 80e9, 300e9, 10e-6},
      {"l20", 119.5e12, 864e9, 48e9, 25e9, 20e-6},
  };
  for (const auto& g : all)
    if (g.name == name) return g;
  throw std::invalid_argument("unknown GPU \"" + name + "\" (h200, a100, l20)");
}

}  // namespace tdpipe::sim
