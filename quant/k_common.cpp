// The scale/min search shared by Q4_K and Q5_K (formats.md C.3): they differ only in level count and packing.
#include "quant/k_common.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "common/fp16.h"
#include "quant/scale_search.h"

namespace kq {

namespace {

// Ref recipe: per 32, weights sqrt(mean x^2) + |x|; 6-bit scales and mins linear in their maxima.
void search_ref(const float* x, int nmax, float rmin, float rdelta, int nstep, uint8_t* scales, uint16_t* d,
                uint16_t* dmin, uint8_t* levels) {
  float weights[256];
  float sub_scales[8];
  float sub_mins[8];
  for (ptrdiff_t j = 0; j < 8; ++j) {
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
  make_qkx_quants_batch(p, 8, x, weights, levels, sub_scales, sub_mins);
  float max_scale = 0;  // scales and mins are >= 0 because the min is subtracted
  float max_min = 0;
  for (int j = 0; j < 8; ++j) {
    max_scale = std::max(max_scale, sub_scales[j]);
    max_min = std::max(max_min, sub_mins[j]);
  }
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  uint8_t ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {
    ls[j] = uint8_t(std::clamp(round_ne(inv_scale * sub_scales[j]), 0, 63));
    lm[j] = uint8_t(std::clamp(round_ne(inv_min * sub_mins[j]), 0, 63));
  }
  set_scales_mins_k4(ls, lm, scales);
  *d = fp32_to_fp16(max_scale / 63.0f);
  *dmin = fp32_to_fp16(max_min / 63.0f);
}

// IM recipe: weights qw*sqrt(sigma^2 + x^2); scales and mins fitted by make_qp_quants.
void search_im(const float* x, const float* qw, int nmax, uint8_t* scales, uint16_t* d, uint16_t* dmin,
               uint8_t* levels) {
  float weights[256];
  float sw[8];
  float sub_scales[8];
  float sub_mins[8];
  float sum_x2 = 0;
  for (int i = 0; i < 256; ++i) sum_x2 += x[i] * x[i];
  const float sigma2 = 2 * sum_x2 / 256;
  for (ptrdiff_t j = 0; j < 8; ++j) {
    const float* xj = x + 32 * j;
    float* wj = weights + 32 * j;
    float sumw = 0;
    for (int i = 0; i < 32; ++i) {
      wj[i] = qw[32 * j + i] * std::sqrt(sigma2 + xj[i] * xj[i]);
      sumw += wj[i];
    }
    sw[j] = sumw;
  }
  AsymmetricSearch p;
  p.n = 32;
  p.nmax = nmax;
  p.rmin = -0.9f;
  p.rdelta = 0.05f;
  p.nstep = 36;
  p.default_x2 = true;
  make_qkx_quants_batch(p, 8, x, weights, levels, sub_scales, sub_mins);
  uint8_t ls[8], lm[8];
  const float d_block = make_qp_quants(8, 63, sub_scales, ls, sw);
  const float m_block = make_qp_quants(8, 63, sub_mins, lm, sw);
  set_scales_mins_k4(ls, lm, scales);
  *d = fp32_to_fp16(d_block);
  *dmin = fp32_to_fp16(m_block);
}

}  // namespace

void quantize_k4_block(const float* x, const float* qw, int nmax, float rmin, float rdelta, int nstep, uint8_t* scales,
                       uint16_t* d, uint16_t* dmin, uint8_t* levels) {
  for (int k = 0; k < 12; ++k) scales[k] = 0;
  if (qw) {
    search_im(x, qw, nmax, scales, d, dmin, levels);
  } else {
    search_ref(x, nmax, rmin, rdelta, nstep, scales, d, dmin, levels);
  }
  // Requantize with the stored (f16-rounded) scales so the levels match what dequantization sees.
  const float df = fp16_to_fp32(*d);
  const float mf = fp16_to_fp32(*dmin);
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    get_scale_min_k4(j, scales, &sc, &m);
    const float dl = df * float(sc);
    if (dl == 0) continue;  // nothing to fit: keep the search's levels
    const float ml = mf * float(m);
    for (int i = 0; i < 32; ++i) {
      levels[32 * j + i] = uint8_t(std::clamp(round_ne((x[32 * j + i] + ml) / dl), 0, nmax));
    }
  }
}

}  // namespace kq
