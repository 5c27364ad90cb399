// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/model/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace tdpipe {

std::uint16_t to_half(float x) {
  _Float16 h = static_cast<_Float16>(x);
  std::uint16_t bits;
  std::memcpy(&bits, &h, 2);
  return bits;
}

float from_half(std::uint16_t bits) {
  _Float16 h;
  std::memcpy(&h, &bits, 2);
  return static_cast<float>(h);
}

std::vector<std::uint8_t> quantize_q8_0(const float* x, std::size_t count) {
  if (count % kQ8BlockValues) throw std::invalid_argument("Q8_0 needs a multiple of 32 values");
  std::vector<std::uint8_t> out(count / kQ8BlockValues * kQ8BlockBytes);
  for (std::size_t b = 0; b < count / kQ8BlockValues; ++b) {
    const float* v = x + b * kQ8BlockValues;
    float amax = 0;
    for (std::size_t i = 0; i < kQ8BlockValues; ++i) amax = std::max(amax, std::fabs(v[i]));
    const float d = amax / 127.0f, inverse = d != 0 ? 1.0f / d : 0.0f;
    std::uint8_t* block = out.data() + b * kQ8BlockBytes;
    std::uint16_t scale = to_half(d);
    std::memcpy(block, &scale, 2);
    for (std::size_t i = 0; i < kQ8BlockValues; ++i)
      block[2 + i] =
          static_cast<std::uint8_t>(static_cast<std::int8_t>(std::lround(v[i] * inverse)));
  }
  return out;
}

void dequantize_q8_0(const std::uint8_t* blocks, float* out, std::size_t count) {
  for (std::size_t b = 0; b < count / kQ8BlockValues; ++b) {
    const std::uint8_t* block = blocks + b * kQ8BlockBytes;
    std::uint16_t scale;
    std::memcpy(&scale, block, 2);
    const float d = from_half(scale);
    for (std::size_t i = 0; i < kQ8BlockValues; ++i)
      out[b * kQ8BlockValues + i] = float(static_cast<std::int8_t>(block[2 + i])) * d;
  }
}

}  // namespace tdpipe
