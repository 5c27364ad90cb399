// SPDX-License-Identifier: GPL-2.0-or-later
//
// Output lengths in buckets of doubling size: what the length predictor
// classifies into, and what TD-Pipe's KV projection takes as a request's
// predicted length (the bucket's upper bound, so that a right guess never
// under-projects).
#pragma once

#include <array>

namespace tdpipe {

inline constexpr std::array<int, 8> kLengthBuckets{32, 64, 128, 256, 512, 1024, 2048, 4096};

inline int bucket_of(int length) {
  for (int b = 0; b < int(kLengthBuckets.size()); ++b)
    if (length <= kLengthBuckets[std::size_t(b)]) return b;
  return int(kLengthBuckets.size()) - 1;
}

inline int bucket_limit(int bucket) {
  return kLengthBuckets[std::size_t(bucket)];
}

}  // namespace tdpipe
