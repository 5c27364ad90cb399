// SPDX-License-Identifier: GPL-2.0-or-later
//
// The real engine's stage cost, fitted to its own measured times: a least-
// squares line (fixed cost plus cost per token) through the last 256
// micro-batches the first stage ran. TD-Pipe's switching rule weighs
// decode against prefill with it; on a CPU the fixed part is streaming the
// weights, the rest the arithmetic per token.
#pragma once

#include "tdpipe/sched/stage_cost.h"

#include <deque>
#include <utility>

namespace tdpipe {

class MeasuredCost : public StageCost {
 public:
  void record(const BatchShape& shape, double seconds);
  double seconds(const BatchShape& shape) const override;

 private:
  std::deque<std::pair<double, double>> samples_;  // tokens, seconds
};

}  // namespace tdpipe
