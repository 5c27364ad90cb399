// SPDX-License-Identifier: GPL-2.0-or-later
//
// Models of any Llama shape with random weights from a seed, for tests and
// benchmarks: the same seed gives the same weights on every machine.
// Weights are scaled like a trained model's (about 1/sqrt(fan-in)) and
// norms are near one, so activations stay in range and generation does
// not collapse to one token at once.
#pragma once

#include "tdpipe/model/weights.h"

#include <cstdint>

namespace tdpipe {

Weights synthetic_weights(const ModelConfig& config, std::uint64_t seed);

}  // namespace tdpipe
