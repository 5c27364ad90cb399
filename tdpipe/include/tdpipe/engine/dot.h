// SPDX-License-Identifier: GPL-2.0-or-later
//
// The dot product every matrix product of the reference and the batched
// engine uses: eight partial sums (lane k adds elements k, k + 8, ...),
// combined in a fixed tree, then the tail. The order of every addition is
// fixed by the code, not by the instruction set, so the compiler can run
// the eight lanes as SIMD (an AVX2 clone where the CPU has it, SSE
// otherwise) and the reference and the engine still agree bit for bit.
#pragma once

namespace tdpipe {

float dot(const float* a, const float* b, int n);

}  // namespace tdpipe
