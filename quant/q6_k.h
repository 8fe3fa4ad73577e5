// Q6_K block format (6.5625 bpw: x = d * sc * (q - 32)) and its scalar reference.
#pragma once

#include <cstdint>

namespace kq {

constexpr int64_t kQ6KBlockSize = 256;

struct BlockQ6K {
  uint8_t ql[128];     // low 4 bits
  uint8_t qh[64];      // high 2 bits
  int8_t scales[16];   // signed scale per 16 elements
  uint16_t d;          // f16 super-block scale
};
static_assert(sizeof(BlockQ6K) == 210, "Q6_K block must be 210 bytes");

void dequantize_row_q6_k(const void* src, float* dst, int64_t n);
void quantize_row_q6_k(const float* src, void* dst, int64_t n, const float* importance);
float dot_q6_k_q8_k(int64_t n, const void* x, const void* y);

}  // namespace kq
