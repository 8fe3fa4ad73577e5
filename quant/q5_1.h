// Q5_1 block format (6.0 bpw: x = d * q + m) and its scalar reference.
#pragma once

#include <cstdint>

namespace kq {

constexpr int64_t kQ5_1BlockSize = 32;

struct BlockQ5_1 {
  uint16_t d;        // f16 scale
  uint16_t m;        // f16 min
  uint8_t qh[4];     // bit e (u32 LE) = bit 4 of element e
  uint8_t qs[16];    // low nibbles, Q4_0 placement
};
static_assert(sizeof(BlockQ5_1) == 24, "Q5_1 block must be 24 bytes");

void dequantize_row_q5_1(const void* src, float* dst, int64_t n);
void quantize_row_q5_1(const float* src, void* dst, int64_t n, const float* importance);
float dot_q5_1_q8_1(int64_t n, const void* x, const void* y);

}  // namespace kq
