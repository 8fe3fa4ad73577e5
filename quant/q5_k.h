// Q5_K block format (5.5 bpw: x = d * sc * q - dmin * m) and its scalar reference.
#pragma once

#include <cstdint>

namespace kq {

constexpr int64_t kQ5KBlockSize = 256;

struct BlockQ5K {
  uint16_t d;          // f16 super-block scale for scales
  uint16_t dmin;       // f16 super-block scale for mins
  uint8_t scales[12];  // Q4_K packing
  uint8_t qh[32];      // bit 4 of each quant, Q3_K hmask placement
  uint8_t qs[128];     // low 4 bits, Q4_K placement
};
static_assert(sizeof(BlockQ5K) == 176, "Q5_K block must be 176 bytes");

void dequantize_row_q5_k(const void* src, float* dst, int64_t n);
void quantize_row_q5_k(const float* src, void* dst, int64_t n, const float* importance);
float dot_q5_k_q8_k(int64_t n, const void* x, const void* y);

}  // namespace kq
