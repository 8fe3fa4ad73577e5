// Q8_1 block format (9.0 bpw, activation type: x = d * q) and its scalar reference.
#pragma once

#include <cstdint>

namespace kq {

constexpr int64_t kQ8_1BlockSize = 32;

struct BlockQ8_1 {
  uint16_t d;        // f16 scale
  uint16_t s;        // f16 of d * sum(qs)
  int8_t qs[32];
};
static_assert(sizeof(BlockQ8_1) == 36, "Q8_1 block must be 36 bytes");

void dequantize_row_q8_1(const void* src, float* dst, int64_t n);
void quantize_row_q8_1(const float* src, void* dst, int64_t n, const float* importance);

}  // namespace kq
