// Scalar reference for Q6_K: dequantize, quantize (Ref and imatrix recipes), dot product with Q8_K.
#include "quant/q6_k.h"

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

// Level of element e (0..63): low nibble from ql, two high bits from qh.
inline int q6_level(const BlockQ6K& b, int e) {
  const int h = e / 128, r = e % 128, k = r / 32, l = r % 32;
  const uint8_t lbyte = b.ql[64 * h + 32 * (k % 2) + l];
  const int low = k < 2 ? (lbyte & 0x0F) : (lbyte >> 4);
  const int high = (b.qh[32 * h + l] >> (2 * k)) & 3;
  return low | (high << 4);
}

// Quantizes one block; qw is null (Ref: x^2 weights) or the block's 256 importance values.
void quantize_block(const float* x, const float* qw, BlockQ6K& b) {
  int8_t levels[256];
  float scales[16];
  float max_scale = 0;  // the signed scale of largest magnitude
  float max_abs = 0;
  make_qx_quants_batch(16, 16, 32, x, levels, 1, qw, scales);
  for (ptrdiff_t j = 0; j < 16; ++j) {
    const float a = std::fabs(scales[j]);
    if (a > max_abs) {
      max_abs = a;
      max_scale = scales[j];
    }
  }
  if (max_abs < 1e-15f) {
    std::memset(&b, 0, sizeof b);  // an all-zero block: d = 0 decodes to exact zeros
    return;
  }
  // Map the extreme scale to -128 so the whole int8 range is used.
  const float iscale = -128.0f / max_scale;
  b.d = fp32_to_fp16(1 / iscale);
  for (int j = 0; j < 16; ++j) b.scales[j] = int8_t(std::min(127, round_ne(iscale * scales[j])));

  // Requantize with the stored scales so the levels match what dequantization sees.
  const float d = fp16_to_fp32(b.d);
  for (int j = 0; j < 16; ++j) {
    const float dl = d * float(b.scales[j]);
    if (dl == 0) continue;  // nothing to fit: keep the search's levels
    for (int i = 0; i < 16; ++i) {
      levels[16 * j + i] = int8_t(std::clamp(round_ne(x[16 * j + i] / dl), -32, 31) + 32);
    }
  }
  for (ptrdiff_t h = 0; h < 2; ++h) {
    const int8_t* e = levels + 128 * h;
    for (int l = 0; l < 32; ++l) {
      b.ql[64 * h + l] = uint8_t((e[l] & 0x0F) | ((e[l + 64] & 0x0F) << 4));
      b.ql[64 * h + 32 + l] = uint8_t((e[l + 32] & 0x0F) | ((e[l + 96] & 0x0F) << 4));
      b.qh[32 * h + l] =
          uint8_t((e[l] >> 4) | ((e[l + 32] >> 4) << 2) | ((e[l + 64] >> 4) << 4) | ((e[l + 96] >> 4) << 6));
    }
  }
}

}  // namespace

void dequantize_row_q6_k(const void* src, float* dst, int64_t n) {
  const int64_t nb = k_blocks(n, "dequantize_row_q6_k");
  const auto* blocks = static_cast<const BlockQ6K*>(src);
  for (int64_t ib = 0; ib < nb; ++ib) {
    const BlockQ6K& b = blocks[ib];
    const float d = fp16_to_fp32(b.d);
    float* y = dst + ib * 256;
    for (int e = 0; e < 256; ++e) {
      // Products in ggml's order: (d*sc)*(q-32).
      y[e] = d * float(b.scales[e / 16]) * float(q6_level(b, e) - 32);
    }
  }
}

void quantize_row_q6_k(const float* src, void* dst, int64_t n, const float* importance) {
  const int64_t nb = k_blocks(n, "quantize_row_q6_k");
  auto* blocks = static_cast<BlockQ6K*>(dst);
  for (int64_t ib = 0; ib < nb; ++ib) {
    quantize_block(src + ib * 256, importance ? importance + ib * 256 : nullptr, blocks[ib]);
  }
}

float dot_q6_k_q8_k(int64_t n, const void* x, const void* y) {
  const int64_t nb = k_blocks(n, "dot_q6_k_q8_k");
  const auto* xb = static_cast<const BlockQ6K*>(x);
  const auto* yb = static_cast<const BlockQ8K*>(y);
  float sum = 0;
  for (int64_t ib = 0; ib < nb; ++ib) {
    const BlockQ6K& a = xb[ib];
    const BlockQ8K& v = yb[ib];
    int32_t sum_q = 0;
    for (int j = 0; j < 16; ++j) {
      int32_t sub = 0;
      for (int i = 0; i < 16; ++i) sub += int32_t(v.qs[16 * j + i]) * (q6_level(a, 16 * j + i) - 32);
      sum_q += int32_t(a.scales[j]) * sub;
    }
    sum += (fp16_to_fp32(a.d) * v.d) * float(sum_q);
  }
  return sum;
}

}  // namespace kq
