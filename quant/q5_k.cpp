// Scalar reference for Q5_K: dequantize, quantize (Ref and imatrix recipes), dot product with Q8_K.
#include "quant/q5_k.h"

#include <algorithm>
#include <cstring>

#include "common/fp16.h"
#include "quant/k_common.h"
#include "quant/q8_k.h"

namespace kq {

namespace {

// Level of element e (0..31): low 4 bits placed as Q4_K, bit 4 from qh as Q3_K's hmask.
inline int q5_level(const BlockQ5K& b, int e) {
  const int c = e / 64, r = e % 64;
  const int low = r < 32 ? (b.qs[32 * c + r] & 0x0F) : (b.qs[32 * c + r - 32] >> 4);
  return low | (((b.qh[e % 32] >> (e / 32)) & 1) << 4);
}

}  // namespace

void dequantize_row_q5_k(const void* src, float* dst, int64_t n) {
  const int64_t nb = k_blocks(n, "dequantize_row_q5_k");
  const auto* blocks = static_cast<const BlockQ5K*>(src);
  for (int64_t ib = 0; ib < nb; ++ib) {
    const BlockQ5K& b = blocks[ib];
    const float d = fp16_to_fp32(b.d);
    const float dmin = fp16_to_fp32(b.dmin);
    float* y = dst + ib * 256;
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      get_scale_min_k4(j, b.scales, &sc, &m);
      // Products in ggml's order: (d*sc)*q - (dmin*m).
      const float dl = d * float(sc);
      const float ml = dmin * float(m);
      for (int i = 0; i < 32; ++i) y[32 * j + i] = dl * float(q5_level(b, 32 * j + i)) - ml;
    }
  }
}

void quantize_row_q5_k(const float* src, void* dst, int64_t n, const float* importance) {
  const int64_t nb = k_blocks(n, "quantize_row_q5_k");
  auto* blocks = static_cast<BlockQ5K*>(dst);
  for (int64_t ib = 0; ib < nb; ib += kK4MaxBlocks) {
    const int count = int(std::min<int64_t>(kK4MaxBlocks, nb - ib));
    K4Fit fits[kK4MaxBlocks];
    quantize_k4_blocks(count, src + ib * 256, importance ? importance + ib * 256 : nullptr, 31, -0.5f, 0.1f, 15, fits);
    for (int k = 0; k < count; ++k) {
      BlockQ5K& b = blocks[ib + k];
      const uint8_t* levels = fits[k].levels;
      std::memcpy(b.scales, fits[k].scales, sizeof b.scales);
      b.d = fits[k].d;
      b.dmin = fits[k].dmin;
      std::memset(b.qh, 0, sizeof b.qh);
      for (int e = 0; e < 256; ++e) {
        if (levels[e] > 15) b.qh[e % 32] = uint8_t(b.qh[e % 32] | (1u << (e / 32)));
      }
      for (int c = 0; c < 4; ++c) {
        for (int l = 0; l < 32; ++l) {
          b.qs[32 * c + l] = uint8_t((levels[64 * c + l] & 0x0F) | ((levels[64 * c + l + 32] & 0x0F) << 4));
        }
      }
    }
  }
}

float dot_q5_k_q8_k(int64_t n, const void* x, const void* y) {
  const int64_t nb = k_blocks(n, "dot_q5_k_q8_k");
  const auto* xb = static_cast<const BlockQ5K*>(x);
  const auto* yb = static_cast<const BlockQ8K*>(y);
  float sum = 0;
  for (int64_t ib = 0; ib < nb; ++ib) {
    const BlockQ5K& a = xb[ib];
    const BlockQ8K& v = yb[ib];
    int32_t sum_q = 0;
    int32_t sum_mins = 0;
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      get_scale_min_k4(j, a.scales, &sc, &m);
      int32_t sub = 0;
      for (int i = 0; i < 32; ++i) sub += int32_t(v.qs[32 * j + i]) * q5_level(a, 32 * j + i);
      sum_q += sc * sub;
      // Min term from the activation's per-16 sums: two bsums cover one 32-element sub-block.
      sum_mins += m * (int32_t(v.bsums[2 * j]) + int32_t(v.bsums[2 * j + 1]));
    }
    const float dall = v.d * fp16_to_fp32(a.d);
    const float dmin = v.d * fp16_to_fp32(a.dmin);
    sum += dall * float(sum_q) - dmin * float(sum_mins);
  }
  return sum;
}

}  // namespace kq
