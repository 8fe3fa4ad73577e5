// Q4_0 block format (4.5 bpw: x = d * (q - 8)) and its scalar reference.
#pragma once

#include <cstdint>

namespace kq {

constexpr int64_t kQ4_0BlockSize = 32;

struct BlockQ4_0 {
  uint16_t d;        // f16 scale
  uint8_t qs[16];    // nibbles: element j = lo(qs[j]), element j+16 = hi(qs[j])
};
static_assert(sizeof(BlockQ4_0) == 18, "Q4_0 block must be 18 bytes");

void dequantize_row_q4_0(const void* src, float* dst, int64_t n);
void quantize_row_q4_0(const float* src, void* dst, int64_t n, const float* importance);
float dot_q4_0_q8_0(int64_t n, const void* x, const void* y);

}  // namespace kq
