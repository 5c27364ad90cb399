// SPDX-License-Identifier: GPL-2.0-or-later
//
// How long one pipeline stage takes for one micro-batch. The TD-Pipe
// scheduler weighs decode against prefill with it; the simulator advances
// its clock with it. Implementations: the profile and roofline models of
// the simulator (sim/cost_model.h) and, for the real engine, a model
// fitted to the stage's measured times (engine/measured_cost.h).
#pragma once

namespace tdpipe {

struct BatchShape {
  int prefill_tokens = 0;     // prompt tokens prefilled (packed)
  int decode_tokens = 0;      // sequences decoding one token each
  double decode_context = 0;  // mean positions a decode token attends to
};

class StageCost {
 public:
  virtual ~StageCost() = default;
  // Seconds one stage spends on a micro-batch of this shape.
  virtual double seconds(const BatchShape& shape) const = 0;
};

}  // namespace tdpipe
