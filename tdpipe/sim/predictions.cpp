// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/sim/predictions.h"

#include "tdpipe/predict/length_buckets.h"

#include <algorithm>

namespace tdpipe::sim {

std::vector<int> exact_predictions(const std::vector<SimRequest>& requests) {
  std::vector<int> out;
  out.reserve(requests.size());
  for (const auto& q : requests) out.push_back(q.output);
  return out;
}

std::vector<int> bucket_predictions(const std::vector<SimRequest>& requests, double accuracy,
                                    std::uint64_t seed) {
  std::uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  auto uniform = [&] {  // xorshift64*
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return double((state * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
  };
  const int last = int(kLengthBuckets.size()) - 1;
  std::vector<int> out;
  for (const auto& q : requests) {
    int b = bucket_of(q.output);
    if (uniform() >= accuracy) {
      int step = uniform() < 0.5 ? -1 : 1;
      if (b + step < 0 || b + step > last) step = -step;
      b += step;
    }
    out.push_back(bucket_limit(b));
  }
  return out;
}

}  // namespace tdpipe::sim
