// Q8_0H: kq's internal activation type for Q8_0 weights (never in a file, not a ggml type).
// A Q8_0 block whose scale is split per 16-element half: x = d[h] · q for elements 16h..16h+15.
// Rounding the activations per half instead of per 32 lowers a pure-Q8_0 model's error (the
// activation rounding is most of it once the weights have 255 levels) at no decode cost.
#pragma once

#include <cstdint>

namespace kq {

struct BlockQ8_0H {
  uint16_t d[2];     // f16 scales of elements 0-15 and 16-31
  int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0H) == 36, "Q8_0H block must be 36 bytes");

void dequantize_row_q8_0h(const void* src, float* dst, int64_t n);
// d = amax/127 per half, q = nearest-even(x · 127/amax): the rounding of the x86 Q8_0 converters.
void quantize_row_q8_0h(const float* src, void* dst, int64_t n, const float* importance);
// Q8_0 weights · Q8_0H activations: per block, the two halves' integer sums in turn.
float dot_q8_0_q8_0h(int64_t n, const void* x, const void* y);

}  // namespace kq
