// Scalar reference for Q8_1 (activation type for Q4_1/Q5_1): dequantize, quantize.
#include "quant/q8_1.h"

#include "common/fp16.h"
#include "quant/legacy_common.h"
#include "quant/registry.h"

namespace kq {

void dequantize_row_q8_1(const void* src, float* dst, int64_t n) {
  const int64_t nb = int64_t(row_size(QType::Q8_1, n) / sizeof(BlockQ8_1));
  const BlockQ8_1* x = static_cast<const BlockQ8_1*>(src);
  for (int64_t b = 0; b < nb; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    for (int j = 0; j < 32; ++j) dst[b * 32 + j] = float(x[b].qs[j]) * d;
  }
}

void quantize_row_q8_1(const float* src, void* dst, int64_t n, const float*) {
  const int64_t nb = int64_t(row_size(QType::Q8_1, n) / sizeof(BlockQ8_1));
  BlockQ8_1* y = static_cast<BlockQ8_1*>(dst);
  for (int64_t b = 0; b < nb; ++b) {
    const float* x = src + b * 32;
    const float d = quantize_block_q8(x, y[b].qs);
    y[b].d = fp32_to_fp16(d);
    int sum = 0;
    for (int j = 0; j < 32; ++j) sum += y[b].qs[j];
    // s uses the unrounded f32 d: the dot product's min term m*s then matches the reference.
    y[b].s = fp32_to_fp16(float(sum) * d);
  }
}

}  // namespace kq
