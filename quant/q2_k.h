// Q2_K block format (2.625 bpw: x = d * sc * q - dmin * m) and its scalar reference.
#pragma once

#include <cstdint>

namespace kq {

constexpr int64_t kQ2KBlockSize = 256;

struct BlockQ2K {
  uint8_t scales[16];  // lo = scale, hi = min, per 16 elements
  uint8_t qs[64];      // 2-bit quants, 4 per byte, 32 elements apart
  uint16_t d;          // f16 super-block scale for scales
  uint16_t dmin;       // f16 super-block scale for mins
};
static_assert(sizeof(BlockQ2K) == 84, "Q2_K block must be 84 bytes");

void dequantize_row_q2_k(const void* src, float* dst, int64_t n);
void quantize_row_q2_k(const float* src, void* dst, int64_t n, const float* importance);
float dot_q2_k_q8_k(int64_t n, const void* x, const void* y);

}  // namespace kq
