// SPDX-License-Identifier: GPL-2.0-or-later
#include "tdpipe/model/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace tdpipe {

std::uint16_t to_half_in_software(float x) {
  std::uint32_t f;
  std::memcpy(&f, &x, 4);
  const std::uint32_t sign = (f >> 16) & 0x8000u, exponent = (f >> 23) & 0xffu;
  std::uint32_t mantissa = f & 0x7fffffu;
  if (exponent == 0xff)  // infinity, or NaN kept quiet with its payload's top bits
    return static_cast<std::uint16_t>(sign | 0x7c00u | (mantissa ? 0x200u | (mantissa >> 13) : 0));
  const int e = static_cast<int>(exponent) - 127 + 15;
  if (e >= 31) return static_cast<std::uint16_t>(sign | 0x7c00u);  // too large: infinity
  std::uint32_t half, rest, halfway;
  if (e <= 0) {  // a subnormal half (or zero): the implicit bit shifts in
    if (e < -10) return static_cast<std::uint16_t>(sign);
    mantissa |= 0x800000u;
    const int shift = 14 - e;
    half = mantissa >> shift;
    rest = mantissa & ((1u << shift) - 1);
    halfway = 1u << (shift - 1);
  } else {
    half = (static_cast<std::uint32_t>(e) << 10) | (mantissa >> 13);
    rest = mantissa & 0x1fffu;
    halfway = 0x1000u;
  }
  // To nearest, ties to even; a carry may move into the exponent (or to
  // infinity), which is the right answer.
  if (rest > halfway || (rest == halfway && (half & 1u))) ++half;
  return static_cast<std::uint16_t>(sign | half);
}

float from_half_in_software(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu;
  std::uint32_t mantissa = h & 0x3ffu, bits;
  if (exponent == 0 && mantissa == 0) {
    bits = sign;
  } else if (exponent == 0) {  // subnormal: normalise
    int shifts = 0;
    while (!(mantissa & 0x400u)) {
      mantissa <<= 1;
      ++shifts;
    }
    bits = sign | (static_cast<std::uint32_t>(127 - 15 + 1 - shifts) << 23) |
           ((mantissa & 0x3ffu) << 13);
  } else if (exponent == 31) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

#ifdef __FLT16_MANT_DIG__
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
#else
std::uint16_t to_half(float x) {
  return to_half_in_software(x);
}

float from_half(std::uint16_t bits) {
  return from_half_in_software(bits);
}
#endif

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
