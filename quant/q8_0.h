// Q8_0 block format (8.5 bpw: x = d * q) and its scalar reference.
#pragma once

#include <cstdint>

namespace kq {

constexpr int64_t kQ8_0BlockSize = 32;

struct BlockQ8_0 {
  uint16_t d;        // f16 scale
  int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0) == 34, "Q8_0 block must be 34 bytes");

void dequantize_row_q8_0(const void* src, float* dst, int64_t n);
void quantize_row_q8_0(const float* src, void* dst, int64_t n, const float* importance);

}  // namespace kq
