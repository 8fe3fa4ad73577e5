// Scalar reference for Q3_K: dequantize, quantize (Ref and imatrix recipes), dot product with Q8_K.
#include "quant/q3_k.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>

#include "common/fp16.h"
#include "quant/k_common.h"
#include "quant/q8_k.h"
#include "quant/scale_search.h"

namespace kq {

namespace {

// Signed level of element e in [-4, 3]: two low bits as Q2_K, bit 2 from hmask (set = no -4).
inline int q3_level(const BlockQ3K& b, int e) {
  const int lo2 = (b.qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
  const int hb = (b.hmask[e % 32] >> (e / 32)) & 1;
  return lo2 + 4 * hb - 4;
}

// Requantizes with the stored scales and packs the levels levels (offset +4, 0..7) into b.
void finish_block(const float* x, int8_t* levels, BlockQ3K& b) {
  const float d = fp16_to_fp32(b.d);
  for (int j = 0; j < 16; ++j) {
    const float dl = d * float(get_scale_q3k(j, b.scales) - 32);
    if (dl == 0) continue;  // nothing to fit: keep the search's levels
    for (int i = 0; i < 16; ++i) {
      levels[16 * j + i] = int8_t(std::clamp(round_ne(x[16 * j + i] / dl), -4, 3) + 4);
    }
  }
  std::memset(b.hmask, 0, sizeof b.hmask);
  uint8_t low[256];
  for (int e = 0; e < 256; ++e) {
    if (levels[e] > 3) b.hmask[e % 32] = uint8_t(b.hmask[e % 32] | (1u << (e / 32)));
    low[e] = uint8_t(levels[e] & 3);
  }
  pack_2bit(low, b.qs);
}

// Quantizes one block without an importance matrix: make_q3_quants per 16, 6-bit signed scales.
void quantize_block_ref(const float* x, BlockQ3K& b) {
  int8_t levels[256];
  float scales[16];
  float max_scale = 0;  // the signed scale of largest magnitude
  float amax = 0;
  for (ptrdiff_t j = 0; j < 16; ++j) {
    scales[j] = make_q3_quants(16, 4, x + 16 * j, levels + 16 * j, true);
    const float a = std::fabs(scales[j]);
    if (a > amax) {
      amax = a;
      max_scale = scales[j];
    }
  }
  uint8_t u[16] = {};
  if (max_scale != 0) {
    // Map the extreme scale to -32 so the asymmetric 6-bit range [-32, 31] is fully used.
    const float iscale = -32.0f / max_scale;
    for (int j = 0; j < 16; ++j) u[j] = uint8_t(std::clamp(round_ne(iscale * scales[j]), -32, 31) + 32);
    b.d = fp32_to_fp16(1 / iscale);
  } else {
    b.d = fp32_to_fp16(0.0f);
  }
  set_scales_q3k(u, b.scales);
  finish_block(x, levels, b);
}

// Quantizes one block with importance qw (256 values): weighted make_qx_quants for levels and scales.
void quantize_block_im(const float* x, const float* qw, BlockQ3K& b) {
  int8_t levels[256];
  float scales[16];
  float weight[256];
  float sw[16];
  int8_t scale_levels[16];
  float sumx2 = 0;
  for (int i = 0; i < 256; ++i) sumx2 += x[i] * x[i];
  const float sigma2 = 2 * sumx2 / 256;
  for (ptrdiff_t j = 0; j < 16; ++j) {
    float sumw = 0;
    for (int i = 0; i < 16; ++i) {
      weight[16 * j + i] = qw[16 * j + i] * std::sqrt(sigma2 + x[16 * j + i] * x[16 * j + i]);
      sumw += weight[16 * j + i];
    }
    sw[j] = sumw;
  }
  make_qx_quants_batch(16, 16, 4, x, levels, 1, weight, scales);
  // The scale search's offset levels (0..63) are exactly the stored u_j.
  const float d_block = make_qx_quants(16, 32, scales, scale_levels, 1, sw);
  uint8_t u[16];
  for (int j = 0; j < 16; ++j) u[j] = uint8_t(scale_levels[j]);
  set_scales_q3k(u, b.scales);
  b.d = fp32_to_fp16(d_block);
  finish_block(x, levels, b);
}

}  // namespace

void dequantize_row_q3_k(const void* src, float* dst, int64_t n) {
  const int64_t nb = k_blocks(n, "dequantize_row_q3_k");
  const auto* blocks = static_cast<const BlockQ3K*>(src);
  for (int64_t ib = 0; ib < nb; ++ib) {
    const BlockQ3K& b = blocks[ib];
    const float d = fp16_to_fp32(b.d);
    float* y = dst + ib * 256;
    for (int e = 0; e < 256; ++e) {
      const float dl = d * float(get_scale_q3k(e / 16, b.scales) - 32);
      y[e] = dl * float(q3_level(b, e));
    }
  }
}

void quantize_row_q3_k(const float* src, void* dst, int64_t n, const float* importance) {
  const int64_t nb = k_blocks(n, "quantize_row_q3_k");
  auto* blocks = static_cast<BlockQ3K*>(dst);
  for (int64_t ib = 0; ib < nb; ++ib) {
    if (importance) {
      quantize_block_im(src + ib * 256, importance + ib * 256, blocks[ib]);
    } else {
      quantize_block_ref(src + ib * 256, blocks[ib]);
    }
  }
}

float dot_q3_k_q8_k(int64_t n, const void* x, const void* y) {
  const int64_t nb = k_blocks(n, "dot_q3_k_q8_k");
  const auto* xb = static_cast<const BlockQ3K*>(x);
  const auto* yb = static_cast<const BlockQ8K*>(y);
  float sum = 0;
  for (int64_t ib = 0; ib < nb; ++ib) {
    const BlockQ3K& a = xb[ib];
    const BlockQ8K& v = yb[ib];
    int32_t sum_q = 0;
    for (int j = 0; j < 16; ++j) {
      int32_t sub = 0;
      for (int i = 0; i < 16; ++i) sub += int32_t(v.qs[16 * j + i]) * q3_level(a, 16 * j + i);
      sum_q += (get_scale_q3k(j, a.scales) - 32) * sub;
    }
    sum += (fp16_to_fp32(a.d) * v.d) * float(sum_q);
  }
  return sum;
}

}  // namespace kq
