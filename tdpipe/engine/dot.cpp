// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/engine/dot.h"

namespace tdpipe {

// An AVX2 clone chosen at load time (an ifunc). Not under ThreadSanitizer:
// the loader runs the clone's resolver before the sanitizer's runtime is up,
// and the instrumented resolver crashes the program at start.
#if defined(__SANITIZE_THREAD__)
#define TDPIPE_DOT_CLONES
#else
#define TDPIPE_DOT_CLONES target_clones("avx2", "default"),
#endif

// No fused multiply-add in any clone: a * b is rounded before it is added,
// as in the scalar order.
__attribute__((TDPIPE_DOT_CLONES optimize("fp-contract=off", "tree-vectorize"))) float
dot(const float* a, const float* b, int n) {
  float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) lane[k] += a[i + k] * b[i + k];
  float tail = 0;
  for (; i < n; ++i) tail += a[i] * b[i];
  return (((lane[0] + lane[1]) + (lane[2] + lane[3])) +
          ((lane[4] + lane[5]) + (lane[6] + lane[7]))) +
         tail;
}

}  // namespace tdpipe
