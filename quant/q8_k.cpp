// Scalar reference for Q8_K (activation type for the 256-element types): dequantize, quantize.
#include "quant/q8_k.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/fp16.h"
#include "quant/registry.h"

namespace kq {

void dequantize_row_q8_k(const void* src, float* dst, int64_t n) {
  const int64_t nb = int64_t(row_size(QType::Q8_K, n) / sizeof(BlockQ8K));
  const BlockQ8K* x = static_cast<const BlockQ8K*>(src);
  for (int64_t b = 0; b < nb; ++b)
    for (int j = 0; j < 256; ++j) dst[b * 256 + j] = x[b].d * float(x[b].qs[j]);
}

void quantize_row_q8_k(const float* src, void* dst, int64_t n, const float*) {
  const int64_t nb = int64_t(row_size(QType::Q8_K, n) / sizeof(BlockQ8K));
  BlockQ8K* y = static_cast<BlockQ8K*>(dst);
  for (int64_t b = 0; b < nb; ++b) {
    const float* x = src + b * 256;
    // The signed extreme (first one on ties) maps to -127, so no level beyond +-127 is needed.
    float max = 0.0f, amax = 0.0f;
    for (int j = 0; j < 256; ++j) {
      const float ax = std::fabs(x[j]);
      if (ax > amax) {
        amax = ax;
        max = x[j];
      }
    }
    if (amax == 0.0f) {
      // The reference leaves bsums unwritten here; zero everything so the block is defined.
      std::memset(&y[b], 0, sizeof(BlockQ8K));
      continue;
    }
    const float iscale = -127.0f / max;
    if (std::isfinite(iscale)) {
      for (int j = 0; j < 256; ++j) y[b].qs[j] = int8_t(std::min(127, round_ne(iscale * x[j])));
    } else {
      // |max| below ~4e-37: -127/max overflows, so scale by the ratio to max instead.
      for (int j = 0; j < 256; ++j) y[b].qs[j] = int8_t(std::min(127, round_ne(-127.0f * (x[j] / max))));
    }
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += y[b].qs[16 * g + i];
      y[b].bsums[g] = int16_t(sum);
    }
    y[b].d = std::isfinite(iscale) ? 1.0f / iscale : max / -127.0f;
  }
}

}  // namespace kq
