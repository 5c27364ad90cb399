// SPDX-License-Identifier: GPL-2.0-or-later
//
// Predicted output lengths for simulated requests without running a
// predictor: exact, unknown, or a length-bucket classifier of a given
// accuracy (right bucket with that probability, else a neighbouring one),
// predicting its bucket's upper bound.
#pragma once

#include "tdpipe/sim/workload.h"

#include <cstdint>
#include <vector>

namespace tdpipe::sim {

std::vector<int> exact_predictions(const std::vector<SimRequest>& requests);
std::vector<int> bucket_predictions(const std::vector<SimRequest>& requests, double accuracy,
                                    std::uint64_t seed);

}  // namespace tdpipe::sim
