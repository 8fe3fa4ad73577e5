// Scalar reference for IQ4_NL: dequantize, quantize (x^2 or imatrix weights), dot with Q8_0.
#include "quant/iq4_nl.h"

#include "common/fp16.h"
#include "quant/iq4_common.h"
#include "quant/q8_0.h"
#include "quant/registry.h"

namespace kq {

void dequantize_row_iq4_nl(const void* src, float* dst, int64_t n) {
  const int64_t nb = int64_t(row_size(QType::IQ4_NL, n) / sizeof(BlockIQ4NL));
  const BlockIQ4NL* x = static_cast<const BlockIQ4NL*>(src);
  for (int64_t b = 0; b < nb; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    for (int j = 0; j < 16; ++j) {
      dst[b * 32 + j] = d * float(kIq4nlValues[x[b].qs[j] & 0x0F]);
      dst[b * 32 + j + 16] = d * float(kIq4nlValues[x[b].qs[j] >> 4]);
    }
  }
}

// Each 32-element block is its own super-block: sigma^2 and the weights are per block.
void quantize_row_iq4_nl(const float* src, void* dst, int64_t n, const float* importance) {
  const int64_t nb = int64_t(row_size(QType::IQ4_NL, n) / sizeof(BlockIQ4NL));
  BlockIQ4NL* y = static_cast<BlockIQ4NL*>(dst);
  for (int64_t b = 0; b < nb; ++b)
    iq4_quantize_super_block(src + b * 32, 32, importance ? importance + b * 32 : nullptr, &y[b].d, y[b].qs,
                             nullptr, nullptr);
}

float dot_iq4_nl_q8_0(int64_t n, const void* vx, const void* vy) {
  const int64_t nb = int64_t(row_size(QType::IQ4_NL, n) / sizeof(BlockIQ4NL));
  const BlockIQ4NL* x = static_cast<const BlockIQ4NL*>(vx);
  const BlockQ8_0* y = static_cast<const BlockQ8_0*>(vy);
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    int sumi = 0;
    for (int j = 0; j < 16; ++j) {
      sumi += int(y[b].qs[j]) * kIq4nlValues[x[b].qs[j] & 0x0F];
      sumi += int(y[b].qs[j + 16]) * kIq4nlValues[x[b].qs[j] >> 4];
    }
    // The f16 product is exact in f32, so each block adds one rounding.
    sum += (fp16_to_fp32(y[b].d) * fp16_to_fp32(x[b].d)) * float(sumi);
  }
  return sum;
}

}  // namespace kq
