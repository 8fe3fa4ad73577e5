// Q8_K block format (9.125 bpw, activation type: x = d * q) and its scalar reference.
#pragma once

#include <cstdint>

namespace kq {

constexpr int64_t kQ8KBlockSize = 256;

struct BlockQ8K {
  float d;             // f32 scale
  int8_t qs[256];
  int16_t bsums[16];   // sums of qs over each 16 elements
};
static_assert(sizeof(BlockQ8K) == 292, "Q8_K block must be 292 bytes");

void dequantize_row_q8_k(const void* src, float* dst, int64_t n);
void quantize_row_q8_k(const float* src, void* dst, int64_t n, const float* importance);

}  // namespace kq
