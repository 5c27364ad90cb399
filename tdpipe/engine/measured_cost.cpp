// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/engine/measured_cost.h"

#include <algorithm>

namespace tdpipe {
namespace {

constexpr std::size_t kWindow = 256;
constexpr double kUnmeasuredPerToken = 1e-3;  // until a micro-batch has run

double tokens_of(const BatchShape& shape) {
  return shape.prefill_tokens + shape.decode_tokens;
}

}  // namespace

void MeasuredCost::record(const BatchShape& shape, double seconds) {
  samples_.emplace_back(tokens_of(shape), seconds);
  if (samples_.size() > kWindow) samples_.pop_front();
}

double MeasuredCost::seconds(const BatchShape& shape) const {
  const double tokens = tokens_of(shape);
  if (samples_.empty()) return tokens * kUnmeasuredPerToken;
  double n = double(samples_.size()), sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (auto [x, y] : samples_) {
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const double var = n * sxx - sx * sx;
  if (var <= 1e-9 * std::max(1.0, sxx)) return sy / std::max(sx, 1.0) * tokens;  // one size seen
  const double per_token = std::max(0.0, (n * sxy - sx * sy) / var);
  const double fixed = std::max(0.0, (sy - per_token * sx) / n);
  return fixed + per_token * tokens;
}

}  // namespace tdpipe
