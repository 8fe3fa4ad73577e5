// Q3_K block format (3.4375 bpw: x = d * (u - 32) * q, q in [-4, 3]) and its scalar reference.
#pragma once

#include <cstdint>

namespace kq {

constexpr int64_t kQ3KBlockSize = 256;

struct BlockQ3K {
  uint8_t hmask[32];   // bit 2 of each quant (set = no -4)
  uint8_t qs[64];      // low 2 bits, Q2_K placement
  uint8_t scales[12];  // sixteen 6-bit scales (offset 32)
  uint16_t d;          // f16 super-block scale
};
static_assert(sizeof(BlockQ3K) == 110, "Q3_K block must be 110 bytes");

void dequantize_row_q3_k(const void* src, float* dst, int64_t n);
void quantize_row_q3_k(const float* src, void* dst, int64_t n, const float* importance);
float dot_q3_k_q8_k(int64_t n, const void* x, const void* y);

}  // namespace kq
