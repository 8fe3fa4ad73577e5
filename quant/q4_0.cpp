// Scalar reference for Q4_0: dequantize, quantize (reference and imatrix recipes), dot with Q8_0.
#include "quant/q4_0.h"

#include <algorithm>

#include "common/fp16.h"
#include "quant/legacy_common.h"
#include "quant/q8_0.h"
#include "quant/registry.h"
#include "quant/scale_search.h"

namespace kq {

namespace {

// Quantizes one block the llama.cpp reference way: the signed extreme maps to level 0 (-8).
void quantize_block_ref(const float* x, BlockQ4_0& y) {
  const float max = signed_absmax(x);
  const float d = max / -8.0f;
  const float id = legacy_inverse_scale(d);
  y.d = fp32_to_fp16(d);
  for (int j = 0; j < 16; ++j) {
    // x*id lies in [-8, 8], so +8.5 is positive and truncation rounds half up.
    const int q0 = std::min(15, int(x[j] * id + 8.5f));
    const int q1 = std::min(15, int(x[j + 16] * id + 8.5f));
    y.qs[j] = uint8_t(q0 | (q1 << 4));
  }
}

// Quantizes one block with per-element weights w (formats.md C.3, legacy types with an imatrix).
void quantize_block_weighted(const float* x, const float* w, BlockQ4_0& y) {
  int8_t L[32];
  const float d = make_qx_quants(32, 8, x, L, 1, w);
  y.d = fp32_to_fp16(d);
  pack_nibbles(L, y.qs);
}

}  // namespace

void dequantize_row_q4_0(const void* src, float* dst, int64_t n) {
  const int64_t nb = int64_t(row_size(QType::Q4_0, n) / sizeof(BlockQ4_0));
  const BlockQ4_0* x = static_cast<const BlockQ4_0*>(src);
  for (int64_t b = 0; b < nb; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    for (int j = 0; j < 16; ++j) {
      dst[b * 32 + j] = float((x[b].qs[j] & 0x0F) - 8) * d;
      dst[b * 32 + j + 16] = float((x[b].qs[j] >> 4) - 8) * d;
    }
  }
}

void quantize_row_q4_0(const float* src, void* dst, int64_t n, const float* importance) {
  quantize_row_legacy<BlockQ4_0>(QType::Q4_0, src, dst, n, importance, quantize_block_ref, quantize_block_weighted);
}

float dot_q4_0_q8_0(int64_t n, const void* vx, const void* vy) {
  const int64_t nb = int64_t(row_size(QType::Q4_0, n) / sizeof(BlockQ4_0));
  const BlockQ4_0* x = static_cast<const BlockQ4_0*>(vx);
  const BlockQ8_0* y = static_cast<const BlockQ8_0*>(vy);
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    int sumi = 0;
    for (int j = 0; j < 16; ++j) {
      sumi += ((x[b].qs[j] & 0x0F) - 8) * int(y[b].qs[j]);
      sumi += ((x[b].qs[j] >> 4) - 8) * int(y[b].qs[j + 16]);
    }
    // ggml's generic order for Q4_0: (sumi*d_x)*d_y, two roundings.
    sum += float(sumi) * fp16_to_fp32(x[b].d) * fp16_to_fp32(y[b].d);
  }
  return sum;
}

}  // namespace kq
