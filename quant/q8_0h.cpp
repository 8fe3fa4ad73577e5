// Scalar reference for Q8_0H (quant/q8_0h.h): dequantize, quantize (the activation converter every
// ISA must equal byte for byte) and the Q8_0 · Q8_0H dot product.
#include "quant/q8_0h.h"

#include <cmath>

#include "common/fp16.h"
#include "quant/q8_0.h"
#include "quant/registry.h"

namespace kq {

void dequantize_row_q8_0h(const void* src, float* dst, int64_t n) {
  const int64_t nb = int64_t(row_size(QType::Q8_0H, n) / sizeof(BlockQ8_0H));
  const BlockQ8_0H* x = static_cast<const BlockQ8_0H*>(src);
  for (int64_t b = 0; b < nb; ++b)
    for (int h = 0; h < 2; ++h) {
      const float d = fp16_to_fp32(x[b].d[h]);
      for (int j = 16 * h; j < 16 * h + 16; ++j) dst[b * 32 + j] = float(x[b].qs[j]) * d;
    }
}

void quantize_row_q8_0h(const float* src, void* dst, int64_t n, const float*) {
  const int64_t nb = int64_t(row_size(QType::Q8_0H, n) / sizeof(BlockQ8_0H));
  BlockQ8_0H* y = static_cast<BlockQ8_0H*>(dst);
  for (int64_t b = 0; b < nb; ++b)
    for (int h = 0; h < 2; ++h) {
      const float* x = src + 32 * b + 16 * h;
      float amax = 0.0f;
      for (int j = 0; j < 16; ++j) amax = std::fmax(amax, std::fabs(x[j]));
      const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
      for (int j = 0; j < 16; ++j) y[b].qs[16 * h + j] = int8_t(std::nearbyint(x[j] * id));  // ties to even
      y[b].d[h] = fp32_to_fp16(amax / 127.0f);
    }
}

float dot_q8_0_q8_0h(int64_t n, const void* vx, const void* vy) {
  const int64_t nb = int64_t(row_size(QType::Q8_0, n) / sizeof(BlockQ8_0));
  const BlockQ8_0* x = static_cast<const BlockQ8_0*>(vx);
  const BlockQ8_0H* y = static_cast<const BlockQ8_0H*>(vy);
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const float dx = fp16_to_fp32(x[b].d);
    for (int h = 0; h < 2; ++h) {
      int sumi = 0;
      for (int j = 16 * h; j < 16 * h + 16; ++j) sumi += int(x[b].qs[j]) * int(y[b].qs[j]);
      // ggml's generic order per scale: the f16 product is exact in f32, so each half adds one rounding.
      sum += float(sumi) * (dx * fp16_to_fp32(y[b].d[h]));
    }
  }
  return sum;
}

}  // namespace kq
