// Scalar reference for Q5_1: dequantize, quantize (reference and imatrix recipes), dot with Q8_1.
#include "quant/q5_1.h"

#include <algorithm>

#include "common/fp16.h"
#include "quant/legacy_common.h"
#include "quant/q8_1.h"
#include "quant/registry.h"

namespace kq {

namespace {

// Quantizes one block the llama.cpp reference way: x ~ d*q + min with the true min and max.
void quantize_block_ref(const float* x, BlockQ5_1& y) {
  float min, max;
  block_min_max(x, min, max);
  const float d = (max - min) / 31.0f;
  const float id = legacy_inverse_scale(d);
  y.d = fp32_to_fp16(d);
  y.m = fp32_to_fp16(min);
  int q[32];
  // (x - min)*id lies in [0, 31], so truncating +0.5 rounds half up; the clamp only guards.
  for (int j = 0; j < 32; ++j) q[j] = std::min(31, int((x[j] - min) * id + 0.5f));
  pack_q5_levels(q, y.qs, y.qh);
}

// Quantizes one block with per-element weights w (formats.md C.3, legacy types with an imatrix).
void quantize_block_weighted(const float* x, const float* w, BlockQ5_1& y) {
  uint8_t L[32];
  float min = 0.0f;
  y.d = fp32_to_fp16(quantize_block_min_weighted(x, w, 31, L, min));
  y.m = fp32_to_fp16(min);
  pack_q5_levels(L, y.qs, y.qh);
}

}  // namespace

void dequantize_row_q5_1(const void* src, float* dst, int64_t n) {
  const int64_t nb = int64_t(row_size(QType::Q5_1, n) / sizeof(BlockQ5_1));
  const BlockQ5_1* x = static_cast<const BlockQ5_1*>(src);
  for (int64_t b = 0; b < nb; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    const float m = fp16_to_fp32(x[b].m);
    const uint32_t qh = load_qh(x[b].qh);
    for (int j = 0; j < 16; ++j) {
      int q0, q1;
      unpack_q5_pair(x[b].qs, qh, j, q0, q1);
      dst[b * 32 + j] = float(q0) * d + m;
      dst[b * 32 + j + 16] = float(q1) * d + m;
    }
  }
}

void quantize_row_q5_1(const float* src, void* dst, int64_t n, const float* importance) {
  quantize_row_legacy<BlockQ5_1>(QType::Q5_1, src, dst, n, importance, quantize_block_ref, quantize_block_weighted);
}

float dot_q5_1_q8_1(int64_t n, const void* vx, const void* vy) {
  const int64_t nb = int64_t(row_size(QType::Q5_1, n) / sizeof(BlockQ5_1));
  const BlockQ5_1* x = static_cast<const BlockQ5_1*>(vx);
  const BlockQ8_1* y = static_cast<const BlockQ8_1*>(vy);
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const uint32_t qh = load_qh(x[b].qh);
    int sumi = 0;
    for (int j = 0; j < 16; ++j) {
      int q0, q1;
      unpack_q5_pair(x[b].qs, qh, j, q0, q1);
      sumi += q0 * int(y[b].qs[j]);
      sumi += q1 * int(y[b].qs[j + 16]);
    }
    // The min term uses the activation's stored block sum s = d_y*sum(q_y).
    sum += (fp16_to_fp32(x[b].d) * fp16_to_fp32(y[b].d)) * float(sumi) + fp16_to_fp32(x[b].m) * fp16_to_fp32(y[b].s);
  }
  return sum;
}

}  // namespace kq
