// Scalar reference for Q2_K: dequantize, quantize (Ref and imatrix recipes), dot product with Q8_K.
#include "quant/q2_k.h"

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

// Level of element e (0..255): byte 32h+l, bits 2s, with h = e/128, s = (e%128)/32, l = e%32.
inline int q2_level(const BlockQ2K& b, int e) {
  return (b.qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
}

// Requantizes with the stored (f16-rounded) scales so the levels match what dequantization sees.
void requantize(const float* x, const BlockQ2K& b, uint8_t* levels) {
  const float d = fp16_to_fp32(b.d);
  const float dmin = fp16_to_fp32(b.dmin);
  for (int j = 0; j < 16; ++j) {
    const float dl = d * float(b.scales[j] & 0x0F);
    if (dl == 0) continue;  // nothing to fit: keep the search's levels
    const float ml = dmin * float(b.scales[j] >> 4);
    for (int i = 0; i < 16; ++i) {
      levels[16 * j + i] = uint8_t(std::clamp(round_ne((x[16 * j + i] + ml) / dl), 0, 3));
    }
  }
}

// Quantizes one block without an importance matrix: |x|-weighted MAD search per 16, linear 4-bit scales.
void quantize_block_ref(const float* x, BlockQ2K& b) {
  uint8_t levels[256];
  float weights[256];
  float scales[16];
  float mins[16];
  for (int i = 0; i < 256; ++i) weights[i] = std::fabs(x[i]);
  const AsymmetricSearch search{16, 3, -0.5f, 0.1f, 15, /*use_mad=*/true, /*default_x2=*/false};
  make_qkx_quants_batch(search, 16, x, weights, levels, scales, mins);
  float max_scale = 0;  // scales and mins are >= 0 because the min is subtracted
  float max_min = 0;
  for (ptrdiff_t j = 0; j < 16; ++j) {
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  std::memset(b.scales, 0, sizeof b.scales);
  if (max_scale > 0) {
    const float iscale = 15.0f / max_scale;
    for (int j = 0; j < 16; ++j) b.scales[j] = uint8_t(round_ne(iscale * scales[j]) & 0x0F);
    b.d = fp32_to_fp16(max_scale / 15.0f);
  } else {
    b.d = fp32_to_fp16(0.0f);
  }
  if (max_min > 0) {
    const float iscale = 15.0f / max_min;
    for (int j = 0; j < 16; ++j) b.scales[j] = uint8_t(b.scales[j] | (round_ne(iscale * mins[j]) << 4));
    b.dmin = fp32_to_fp16(max_min / 15.0f);
  } else {
    b.dmin = fp32_to_fp16(0.0f);
  }
  requantize(x, b, levels);
  pack_2bit(levels, b.qs);
}

// Quantizes one block with importance qw (256 values): weighted squared-error search, scales via make_qp_quants.
void quantize_block_im(const float* x, const float* qw, BlockQ2K& b) {
  uint8_t levels[256];
  float weight[256];
  float scales[16];
  float mins[16];
  float sw[16];
  uint8_t scale_levels[16];
  uint8_t min_levels[16];
  float sumx2 = 0;
  for (int i = 0; i < 256; ++i) sumx2 += x[i] * x[i];
  const float sigma2 = sumx2 / 256;
  for (ptrdiff_t j = 0; j < 16; ++j) {
    // The sqrt(sigma^2 + x^2) factor also favours the large weights of the block.
    sw[j] = 0;
    for (int i = 0; i < 16; ++i) {
      weight[16 * j + i] = qw[16 * j + i] * std::sqrt(sigma2 + x[16 * j + i] * x[16 * j + i]);
      sw[j] += weight[16 * j + i];
    }
  }
  const AsymmetricSearch search{16, 3, -0.9f, 0.05f, 36, /*use_mad=*/false, /*default_x2=*/true};
  make_qkx_quants_batch(search, 16, x, weight, levels, scales, mins);
  const float dm = make_qp_quants(16, 15, scales, scale_levels, sw);
  const float mm = make_qp_quants(16, 15, mins, min_levels, sw);
  b.d = fp32_to_fp16(dm);
  b.dmin = fp32_to_fp16(mm);
  for (int j = 0; j < 16; ++j) b.scales[j] = uint8_t(scale_levels[j] | (min_levels[j] << 4));
  requantize(x, b, levels);
  pack_2bit(levels, b.qs);
}

}  // namespace

void dequantize_row_q2_k(const void* src, float* dst, int64_t n) {
  const int64_t nb = k_blocks(n, "dequantize_row_q2_k");
  const auto* blocks = static_cast<const BlockQ2K*>(src);
  for (int64_t ib = 0; ib < nb; ++ib) {
    const BlockQ2K& b = blocks[ib];
    const float d = fp16_to_fp32(b.d);
    const float dmin = fp16_to_fp32(b.dmin);
    float* y = dst + ib * 256;
    for (int e = 0; e < 256; ++e) {
      // Products in ggml's order: (d*sc)*q - (dmin*m).
      const float dl = d * float(b.scales[e / 16] & 0x0F);
      const float ml = dmin * float(b.scales[e / 16] >> 4);
      y[e] = dl * float(q2_level(b, e)) - ml;
    }
  }
}

void quantize_row_q2_k(const float* src, void* dst, int64_t n, const float* importance) {
  const int64_t nb = k_blocks(n, "quantize_row_q2_k");
  auto* blocks = static_cast<BlockQ2K*>(dst);
  for (int64_t ib = 0; ib < nb; ++ib) {
    if (importance) {
      quantize_block_im(src + ib * 256, importance + ib * 256, blocks[ib]);
    } else {
      quantize_block_ref(src + ib * 256, blocks[ib]);
    }
  }
}

float dot_q2_k_q8_k(int64_t n, const void* x, const void* y) {
  const int64_t nb = k_blocks(n, "dot_q2_k_q8_k");
  const auto* xb = static_cast<const BlockQ2K*>(x);
  const auto* yb = static_cast<const BlockQ8K*>(y);
  float sum = 0;
  for (int64_t ib = 0; ib < nb; ++ib) {
    const BlockQ2K& a = xb[ib];
    const BlockQ8K& v = yb[ib];
    // Min term from the activation's per-16 sums: 16 multiplies instead of 256.
    int32_t sum_mins = 0;
    for (int j = 0; j < 16; ++j) sum_mins += int32_t(v.bsums[j]) * (a.scales[j] >> 4);
    int32_t sum_q = 0;
    for (int j = 0; j < 16; ++j) {
      int32_t sub = 0;
      for (int i = 0; i < 16; ++i) sub += int32_t(v.qs[16 * j + i]) * q2_level(a, 16 * j + i);
      sum_q += (a.scales[j] & 0x0F) * sub;
    }
    const float dall = v.d * fp16_to_fp32(a.d);
    const float dmin = v.d * fp16_to_fp32(a.dmin);
    sum += dall * float(sum_q) - dmin * float(sum_mins);
  }
  return sum;
}

}  // namespace kq
