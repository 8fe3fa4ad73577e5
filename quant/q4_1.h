// Q4_1 block format (5.0 bpw: x = d * q + m) and its scalar reference.
#pragma once

#include <cstdint>

namespace kq {

constexpr int64_t kQ4_1BlockSize = 32;

struct BlockQ4_1 {
  uint16_t d;        // f16 scale
  uint16_t m;        // f16 min
  uint8_t qs[16];    // nibbles, Q4_0 placement
};
static_assert(sizeof(BlockQ4_1) == 20, "Q4_1 block must be 20 bytes");

void dequantize_row_q4_1(const void* src, float* dst, int64_t n);
void quantize_row_q4_1(const float* src, void* dst, int64_t n, const float* importance);
float dot_q4_1_q8_1(int64_t n, const void* x, const void* y);

}  // namespace kq
