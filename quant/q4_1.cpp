// Scalar reference for Q4_1: dequantize, quantize (reference and imatrix recipes), dot with Q8_1.
#include "quant/q4_1.h"

#include <algorithm>

#include "common/fp16.h"
#include "quant/legacy_common.h"
#include "quant/q8_1.h"
#include "quant/registry.h"

namespace kq {

namespace {

// Quantizes one block the llama.cpp reference way: x ~ d*q + min with the true min and max.
void quantize_block_ref(const float* x, BlockQ4_1& y) {
  float min, max;
  block_min_max(x, min, max);
  const float d = (max - min) / 15.0f;
  const float id = legacy_inverse_scale(d);
  y.d = fp32_to_fp16(d);
  y.m = fp32_to_fp16(min);
  for (int j = 0; j < 16; ++j) {
    // (x - min)*id lies in [0, 15], so truncating +0.5 rounds half up.
    const int q0 = std::min(15, int((x[j] - min) * id + 0.5f));
    const int q1 = std::min(15, int((x[j + 16] - min) * id + 0.5f));
    y.qs[j] = uint8_t(q0 | (q1 << 4));
  }
}

// Quantizes one block with per-element weights w (formats.md C.3, legacy types with an imatrix).
void quantize_block_weighted(const float* x, const float* w, BlockQ4_1& y) {
  uint8_t L[32];
  float min = 0.0f;
  y.d = fp32_to_fp16(quantize_block_min_weighted(x, w, 15, L, min));
  y.m = fp32_to_fp16(min);
  pack_nibbles(L, y.qs);
}

}  // namespace

void dequantize_row_q4_1(const void* src, float* dst, int64_t n) {
  const int64_t nb = int64_t(row_size(QType::Q4_1, n) / sizeof(BlockQ4_1));
  const BlockQ4_1* x = static_cast<const BlockQ4_1*>(src);
  for (int64_t b = 0; b < nb; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    const float m = fp16_to_fp32(x[b].m);
    for (int j = 0; j < 16; ++j) {
      dst[b * 32 + j] = float(x[b].qs[j] & 0x0F) * d + m;
      dst[b * 32 + j + 16] = float(x[b].qs[j] >> 4) * d + m;
    }
  }
}

void quantize_row_q4_1(const float* src, void* dst, int64_t n, const float* importance) {
  quantize_row_legacy<BlockQ4_1>(QType::Q4_1, src, dst, n, importance, quantize_block_ref, quantize_block_weighted);
}

float dot_q4_1_q8_1(int64_t n, const void* vx, const void* vy) {
  const int64_t nb = int64_t(row_size(QType::Q4_1, n) / sizeof(BlockQ4_1));
  const BlockQ4_1* x = static_cast<const BlockQ4_1*>(vx);
  const BlockQ8_1* y = static_cast<const BlockQ8_1*>(vy);
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    int sumi = 0;
    for (int j = 0; j < 16; ++j) {
      sumi += (x[b].qs[j] & 0x0F) * int(y[b].qs[j]);
      sumi += (x[b].qs[j] >> 4) * int(y[b].qs[j + 16]);
    }
    // The min term uses the activation's stored block sum s = d_y*sum(q_y).
    sum += (fp16_to_fp32(x[b].d) * fp16_to_fp32(y[b].d)) * float(sumi) + fp16_to_fp32(x[b].m) * fp16_to_fp32(y[b].s);
  }
  return sum;
}

}  // namespace kq
