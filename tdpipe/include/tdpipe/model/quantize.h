// SPDX-License-Identifier: GPL-2.0-or-later
//
// The number formats GGUF files hold besides float32: IEEE half precision
// and Q8_0 (blocks of 32 values as a half-precision scale and 32 int8, 34
// bytes; scale = max|x| / 127, values rounded to the nearest integer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tdpipe {

constexpr std::size_t kQ8BlockValues = 32, kQ8BlockBytes = 34;

// Throws std::invalid_argument unless `count` is a multiple of 32.
std::vector<std::uint8_t> quantize_q8_0(const float* x, std::size_t count);
void dequantize_q8_0(const std::uint8_t* blocks, float* out, std::size_t count);
// IEEE binary16, rounding to nearest even: the compiler's _Float16 where it
// has one (GCC on x86-64), else the bit-exact software conversions below
// (clang 14, which the fuzz build and clang-tidy use, lacks it on x86).
std::uint16_t to_half(float x);
float from_half(std::uint16_t h);
std::uint16_t to_half_in_software(float x);
float from_half_in_software(std::uint16_t h);

}  // namespace tdpipe
