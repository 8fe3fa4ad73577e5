// Q5_0 block format (5.5 bpw: x = d * (q - 16)) and its scalar reference.
#pragma once

#include <cstdint>

namespace kq {

constexpr int64_t kQ5_0BlockSize = 32;

struct BlockQ5_0 {
  uint16_t d;        // f16 scale
  uint8_t qh[4];     // bit e (u32 LE) = bit 4 of element e
  uint8_t qs[16];    // low nibbles, Q4_0 placement
};
static_assert(sizeof(BlockQ5_0) == 22, "Q5_0 block must be 22 bytes");

void dequantize_row_q5_0(const void* src, float* dst, int64_t n);
void quantize_row_q5_0(const float* src, void* dst, int64_t n, const float* importance);
float dot_q5_0_q8_0(int64_t n, const void* x, const void* y);

}  // namespace kq
