// IQ4_XS block format (4.25 bpw: x = d * (ls - 32) * kIq4nlValues[q]) and its scalar reference.
#pragma once

#include <cstdint>

namespace kq {

constexpr int64_t kIQ4XSBlockSize = 256;

struct BlockIQ4XS {
  uint16_t d;          // f16 super-block scale
  uint16_t scales_h;   // high 2 bits of the eight 6-bit scales
  uint8_t scales_l[4]; // low 4 bits of the scales, two per byte
  uint8_t qs[128];     // indices into kIq4nlValues, 16 bytes per 32 elements
};
static_assert(sizeof(BlockIQ4XS) == 136, "IQ4_XS block must be 136 bytes");

void dequantize_row_iq4_xs(const void* src, float* dst, int64_t n);
void quantize_row_iq4_xs(const float* src, void* dst, int64_t n, const float* importance);
float dot_iq4_xs_q8_k(int64_t n, const void* x, const void* y);

}  // namespace kq
