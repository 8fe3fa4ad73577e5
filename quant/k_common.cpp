// The scale/min search shared by Q4_K and Q5_K (formats.md C.3): they differ only in level count and packing.
#include "quant/k_common.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <string>

#include "common/fp16.h"
#include "quant/scale_search.h"

namespace kq {

namespace {

// Ref recipe: per 32, weights sqrt(mean x^2) + |x|; 6-bit scales and mins linear in their maxima.
void search_ref(int count, const float* x, int nmax, float rmin, float rdelta, int nstep, K4Fit* fits) {
  float weights[256 * kK4MaxBlocks];
  float sub_scales[8 * kK4MaxBlocks];
  float sub_mins[8 * kK4MaxBlocks];
  uint8_t levels[256 * kK4MaxBlocks];
  for (ptrdiff_t j = 0; j < 8 * count; ++j) {
    const float* xj = x + 32 * j;
    float sum_x2 = 0;
    for (int i = 0; i < 32; ++i) sum_x2 += xj[i] * xj[i];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int i = 0; i < 32; ++i) weights[32 * j + i] = av_x + std::fabs(xj[i]);
  }
  AsymmetricSearch p;
  p.n = 32;
  p.nmax = nmax;
  p.rmin = rmin;
  p.rdelta = rdelta;
  p.nstep = nstep;
  make_qkx_quants_batch(p, 8 * count, x, weights, levels, sub_scales, sub_mins);
  for (int b = 0; b < count; ++b) {
    K4Fit& f = fits[b];
    const float* bs = sub_scales + 8 * b;
    const float* bm = sub_mins + 8 * b;
    std::memcpy(f.levels, levels + 256 * b, 256);
    float max_scale = 0;  // scales and mins are >= 0 because the min is subtracted
    float max_min = 0;
    for (int j = 0; j < 8; ++j) {
      max_scale = std::max(max_scale, bs[j]);
      max_min = std::max(max_min, bm[j]);
    }
    const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
    uint8_t ls[8], lm[8];
    for (int j = 0; j < 8; ++j) {
      ls[j] = uint8_t(std::clamp(round_ne(inv_scale * bs[j]), 0, 63));
      lm[j] = uint8_t(std::clamp(round_ne(inv_min * bm[j]), 0, 63));
    }
    set_scales_mins_k4(ls, lm, f.scales);
    f.d = fp32_to_fp16(max_scale / 63.0f);
    f.dmin = fp32_to_fp16(max_min / 63.0f);
  }
}

// IM recipe: weights qw*sqrt(sigma^2 + x^2); scales and mins fitted by make_qp_quants.
void search_im(int count, const float* x, const float* qw, int nmax, K4Fit* fits) {
  float weights[256 * kK4MaxBlocks] = {};  // (initialized: GCC cannot see that count >= 1)
  float sw[8 * kK4MaxBlocks];
  float sub_scales[8 * kK4MaxBlocks];
  float sub_mins[8 * kK4MaxBlocks];
  uint8_t levels[256 * kK4MaxBlocks];
  for (int b = 0; b < count; ++b) {
    const float* xb = x + 256 * b;
    float sum_x2 = 0;
    for (int i = 0; i < 256; ++i) sum_x2 += xb[i] * xb[i];
    const float sigma2 = 2 * sum_x2 / 256;
    for (ptrdiff_t j = 8 * b; j < 8 * b + 8; ++j) {
      const float* xj = x + 32 * j;
      float* wj = weights + 32 * j;
      float sumw = 0;
      for (int i = 0; i < 32; ++i) {
        wj[i] = qw[32 * j + i] * std::sqrt(sigma2 + xj[i] * xj[i]);
        sumw += wj[i];
      }
      sw[j] = sumw;
    }
  }
  AsymmetricSearch p;
  p.n = 32;
  p.nmax = nmax;
  p.rmin = -0.9f;
  p.rdelta = 0.05f;
  p.nstep = 36;
  p.default_x2 = true;
  make_qkx_quants_batch(p, 8 * count, x, weights, levels, sub_scales, sub_mins);
  for (int b = 0; b < count; ++b) {
    K4Fit& f = fits[b];
    std::memcpy(f.levels, levels + 256 * b, 256);
    uint8_t ls[8], lm[8];
    const float d_block = make_qp_quants(8, 63, sub_scales + 8 * b, ls, sw + 8 * b);
    const float m_block = make_qp_quants(8, 63, sub_mins + 8 * b, lm, sw + 8 * b);
    set_scales_mins_k4(ls, lm, f.scales);
    f.d = fp32_to_fp16(d_block);
    f.dmin = fp32_to_fp16(m_block);
  }
}

}  // namespace

void quantize_k4_blocks(int count, const float* x, const float* qw, int nmax, float rmin, float rdelta, int nstep,
                        K4Fit* fits) {
  if (count < 1 || count > kK4MaxBlocks) throw Error("quantize_k4_blocks: " + std::to_string(count) + " blocks");
  for (int b = 0; b < count; ++b) std::memset(fits[b].scales, 0, sizeof fits[b].scales);
  if (qw) {
    search_im(count, x, qw, nmax, fits);
  } else {
    search_ref(count, x, nmax, rmin, rdelta, nstep, fits);
  }
  // Requantize with the stored (f16-rounded) scales so the levels match what dequantization sees.
  for (int b = 0; b < count; ++b) {
    K4Fit& f = fits[b];
    const float* xb = x + 256 * b;
    const float df = fp16_to_fp32(f.d);
    const float mf = fp16_to_fp32(f.dmin);
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      get_scale_min_k4(j, f.scales, &sc, &m);
      const float dl = df * float(sc);
      if (dl == 0) continue;  // nothing to fit: keep the search's levels
      const float ml = mf * float(m);
      for (int i = 0; i < 32; ++i) {
        f.levels[32 * j + i] = uint8_t(std::clamp(round_ne((xb[32 * j + i] + ml) / dl), 0, nmax));
      }
    }
  }
}

}  // namespace kq
