// Q4_K block format (4.5 bpw: x = d * sc * q - dmin * m) and its scalar reference.
#pragma once

#include <cstdint>

namespace kq {

constexpr int64_t kQ4KBlockSize = 256;

struct BlockQ4K {
  uint16_t d;          // f16 super-block scale for scales
  uint16_t dmin;       // f16 super-block scale for mins
  uint8_t scales[12];  // eight 6-bit scales and eight 6-bit mins
  uint8_t qs[128];     // 4-bit quants
};
static_assert(sizeof(BlockQ4K) == 144, "Q4_K block must be 144 bytes");

void dequantize_row_q4_k(const void* src, float* dst, int64_t n);
void quantize_row_q4_k(const float* src, void* dst, int64_t n, const float* importance);
float dot_q4_k_q8_k(int64_t n, const void* x, const void* y);

}  // namespace kq
