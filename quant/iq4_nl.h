// IQ4_NL block format (4.5 bpw: x = d * kIq4nlValues[q]) and its scalar reference.
#pragma once

#include <cstdint>

namespace kq {

constexpr int64_t kIQ4NLBlockSize = 32;

struct BlockIQ4NL {
  uint16_t d;        // f16 scale
  uint8_t qs[16];    // indices into kIq4nlValues, Q4_0 placement
};
static_assert(sizeof(BlockIQ4NL) == 18, "IQ4_NL block must be 18 bytes");

void dequantize_row_iq4_nl(const void* src, float* dst, int64_t n);
void quantize_row_iq4_nl(const float* src, void* dst, int64_t n, const float* importance);
float dot_iq4_nl_q8_0(int64_t n, const void* x, const void* y);

}  // namespace kq
