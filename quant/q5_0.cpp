// Scalar reference for Q5_0: dequantize, quantize (reference and imatrix recipes), dot with Q8_0.
#include "quant/q5_0.h"

#include <algorithm>

#include "common/fp16.h"
#include "quant/legacy_common.h"
#include "quant/q8_0.h"
#include "quant/registry.h"
#include "quant/scale_search.h"

namespace kq {

namespace {

// Quantizes one block the llama.cpp reference way: the signed extreme maps to level 0 (-16).
void quantize_block_ref(const float* x, BlockQ5_0& y) {
  const float max = signed_absmax(x);
  const float d = max / -16.0f;
  const float id = legacy_inverse_scale(d);
  y.d = fp32_to_fp16(d);
  int q[32];
  for (int j = 0; j < 32; ++j) q[j] = std::min(31, int(x[j] * id + 16.5f));
  pack_q5_levels(q, y.qs, y.qh);
}

// Quantizes one block with per-element weights w (formats.md C.3, legacy types with an imatrix).
void quantize_block_weighted(const float* x, const float* w, BlockQ5_0& y) {
  int8_t L[32];
  y.d = fp32_to_fp16(make_qx_quants(32, 16, x, L, 1, w));
  pack_q5_levels(L, y.qs, y.qh);
}

}  // namespace

void dequantize_row_q5_0(const void* src, float* dst, int64_t n) {
  const int64_t nb = int64_t(row_size(QType::Q5_0, n) / sizeof(BlockQ5_0));
  const BlockQ5_0* x = static_cast<const BlockQ5_0*>(src);
  for (int64_t b = 0; b < nb; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    const uint32_t qh = load_qh(x[b].qh);
    for (int j = 0; j < 16; ++j) {
      int q0, q1;
      unpack_q5_pair(x[b].qs, qh, j, q0, q1);
      dst[b * 32 + j] = float(q0 - 16) * d;
      dst[b * 32 + j + 16] = float(q1 - 16) * d;
    }
  }
}

void quantize_row_q5_0(const float* src, void* dst, int64_t n, const float* importance) {
  quantize_row_legacy<BlockQ5_0>(QType::Q5_0, src, dst, n, importance, quantize_block_ref, quantize_block_weighted);
}

float dot_q5_0_q8_0(int64_t n, const void* vx, const void* vy) {
  const int64_t nb = int64_t(row_size(QType::Q5_0, n) / sizeof(BlockQ5_0));
  const BlockQ5_0* x = static_cast<const BlockQ5_0*>(vx);
  const BlockQ8_0* y = static_cast<const BlockQ8_0*>(vy);
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const uint32_t qh = load_qh(x[b].qh);
    int sumi = 0;
    for (int j = 0; j < 16; ++j) {
      int q0, q1;
      unpack_q5_pair(x[b].qs, qh, j, q0, q1);
      sumi += (q0 - 16) * int(y[b].qs[j]);
      sumi += (q1 - 16) * int(y[b].qs[j + 16]);
    }
    // ggml's generic order: the f16 product is exact in f32, so this is one rounding.
    sum += (fp16_to_fp32(x[b].d) * fp16_to_fp32(y[b].d)) * float(sumi);
  }
  return sum;
}

}  // namespace kq
