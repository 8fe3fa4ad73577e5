// Scalar reference for IQ4_XS: dequantize, quantize (x^2 or imatrix weights), dot with Q8_K.
#include "quant/iq4_xs.h"

#include "common/fp16.h"
#include "quant/iq4_common.h"
#include "quant/q8_k.h"
#include "quant/registry.h"

namespace kq {

namespace {

// Returns the 6-bit scale of sub-block ib (0..63; the multiplier is this minus 32).
int sub_block_scale(const BlockIQ4XS& x, int ib) {
  const int lo = (x.scales_l[ib / 2] >> (4 * (ib % 2))) & 0x0F;
  const int hi = (x.scales_h >> (2 * ib)) & 3;
  return lo | (hi << 4);
}

}  // namespace

void dequantize_row_iq4_xs(const void* src, float* dst, int64_t n) {
  const int64_t nb = int64_t(row_size(QType::IQ4_XS, n) / sizeof(BlockIQ4XS));
  const BlockIQ4XS* x = static_cast<const BlockIQ4XS*>(src);
  for (int64_t b = 0; b < nb; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    for (int ib = 0; ib < 8; ++ib) {
      const float dl = d * float(sub_block_scale(x[b], ib) - 32);
      const uint8_t* qs = x[b].qs + 16 * ib;
      float* out = dst + b * 256 + 32 * ib;
      for (int j = 0; j < 16; ++j) {
        out[j] = dl * float(kIq4nlValues[qs[j] & 0x0F]);
        out[j + 16] = dl * float(kIq4nlValues[qs[j] >> 4]);
      }
    }
  }
}

void quantize_row_iq4_xs(const float* src, void* dst, int64_t n, const float* importance) {
  const int64_t nb = int64_t(row_size(QType::IQ4_XS, n) / sizeof(BlockIQ4XS));
  BlockIQ4XS* y = static_cast<BlockIQ4XS*>(dst);
  for (int64_t b = 0; b < nb; ++b)
    iq4_quantize_super_block(src + b * 256, 256, importance ? importance + b * 256 : nullptr, &y[b].d, y[b].qs,
                             &y[b].scales_h, y[b].scales_l);
}

float dot_iq4_xs_q8_k(int64_t n, const void* vx, const void* vy) {
  const int64_t nb = int64_t(row_size(QType::IQ4_XS, n) / sizeof(BlockIQ4XS));
  const BlockIQ4XS* x = static_cast<const BlockIQ4XS*>(vx);
  const BlockQ8K* y = static_cast<const BlockQ8K*>(vy);
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const float d4d8 = fp16_to_fp32(x[b].d) * y[b].d;
    for (int ib = 0; ib < 8; ++ib) {
      const uint8_t* qs = x[b].qs + 16 * ib;
      const int8_t* q8 = y[b].qs + 32 * ib;
      int sumi = 0;
      for (int j = 0; j < 16; ++j) {
        sumi += int(q8[j]) * kIq4nlValues[qs[j] & 0x0F];
        sumi += int(q8[j + 16]) * kIq4nlValues[qs[j] >> 4];
      }
      // ggml's generic order: (d_x*d_y)*(ls-32), then times the sub-block's integer sum.
      sum += (d4d8 * float(sub_block_scale(x[b], ib) - 32)) * float(sumi);
    }
  }
  return sum;
}

}  // namespace kq
