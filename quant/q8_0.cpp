// Scalar reference for Q8_0: dequantize, quantize (its dot product, with Q8_0H activations, is in
// quant/q8_0h.cpp).
#include "quant/q8_0.h"

#include "common/fp16.h"
#include "quant/legacy_common.h"
#include "quant/registry.h"

namespace kq {

void dequantize_row_q8_0(const void* src, float* dst, int64_t n) {
  const int64_t nb = int64_t(row_size(QType::Q8_0, n) / sizeof(BlockQ8_0));
  const BlockQ8_0* x = static_cast<const BlockQ8_0*>(src);
  for (int64_t b = 0; b < nb; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    for (int j = 0; j < 32; ++j) dst[b * 32 + j] = float(x[b].qs[j]) * d;
  }
}

// Importance is ignored: with 255 levels the plain amax scale is what llama.cpp uses either way.
void quantize_row_q8_0(const float* src, void* dst, int64_t n, const float*) {
  const int64_t nb = int64_t(row_size(QType::Q8_0, n) / sizeof(BlockQ8_0));
  BlockQ8_0* y = static_cast<BlockQ8_0*>(dst);
  for (int64_t b = 0; b < nb; ++b) {
    const float* x = src + b * 32;
    y[b].d = fp32_to_fp16(quantize_block_q8(x, y[b].qs));
  }
}

}  // namespace kq
