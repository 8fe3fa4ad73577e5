// The IQ4 scale search shared by IQ4_NL and IQ4_XS (formats.md C.3, "IQ4_NL / IQ4_XS").
//
// The float expressions keep llama.cpp's evaluation order ((w*q)*x, not w*(q*x)): with
// contraction disabled, the same order gives the same blocks as llama-quantize.
#include "quant/iq4_common.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/fp16.h"

namespace kq {

namespace {

constexpr int kBlock = 32;
// Blocks whose largest magnitude is below this are treated as all zero.
constexpr float kGroupMaxEps = 1e-15f;
// Candidate reciprocal scales (t - 127)/max for t in -kTries..kTries.
constexpr int kTries = 7;

// Accumulates the weighted fit sums for the levels chosen at reciprocal scale id.
void fit_sums(const float* x, const float* w, float id, float* sumqx, float* sumq2, uint8_t* L) {
  float sx = 0.0f, s2 = 0.0f;
  for (int j = 0; j < kBlock; ++j) {
    const int l = iq4_nearest_index(id * x[j]);
    if (L) L[j] = uint8_t(l);
    const float q = float(kIq4nlValues[l]);
    sx += w[j] * q * x[j];
    s2 += w[j] * q * q;
  }
  *sumqx = sx;
  *sumq2 = s2;
}

// Returns the best scale for one 32-element block (0 for an all-(near-)zero block) and its levels.
float search_block_scale(const float* x, const float* w, uint8_t* L) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < kBlock; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  if (amax < kGroupMaxEps) {
    std::fill(L, L + kBlock, uint8_t(0));
    return 0.0f;
  }
  // Start with the extreme at the outermost level, then refit by weighted least squares.
  float d = -max / float(kIq4nlValues[0]);
  float sumqx, sumq2;
  fit_sums(x, w, 1.0f / d, &sumqx, &sumq2, L);
  // All-zero weights (e.g. a zero imatrix column block) would make the refit 0/0: keep d.
  if (sumq2 > 0.0f) d = sumqx / sumq2;
  float best = d * sumqx;
  for (int t = -kTries; t <= kTries; ++t) {
    const float id = (float(t) + float(kIq4nlValues[0])) / max;
    fit_sums(x, w, id, &sumqx, &sumq2, nullptr);
    // (sumqx^2/sumq2) is the drop in weighted squared error; compare without dividing.
    if (sumq2 > 0.0f && sumqx * sumqx > best * sumq2) {
      d = sumqx / sumq2;
      best = d * sumqx;
    }
  }
  return d;
}

}  // namespace

int iq4_nearest_index(float x) {
  if (x <= float(kIq4nlValues[0])) return 0;
  if (x >= float(kIq4nlValues[15])) return 15;
  int lo = 0, hi = 15;
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (x < float(kIq4nlValues[mid]))
      hi = mid;
    else
      lo = mid;
  }
  // Ties go to the upper entry, as in the reference search.
  return x - float(kIq4nlValues[hi - 1]) < float(kIq4nlValues[hi]) - x ? hi - 1 : hi;
}

void iq4_quantize_super_block(const float* x, int n, const float* qw, uint16_t* dh, uint8_t* qs,
                              uint16_t* scales_h, uint8_t* scales_l) {
  const int nblocks = n / kBlock;
  float sigma2 = 0.0f;
  for (int j = 0; j < n; ++j) sigma2 += x[j] * x[j];
  sigma2 *= 2.0f / float(n);

  uint8_t L[256];
  float scales[8];
  float max_scale = 0.0f, amax_scale = 0.0f;
  for (int ib = 0; ib < nblocks; ++ib) {
    const float* xb = x + ib * kBlock;
    float w[kBlock];
    // With an imatrix, sqrt(sigma^2 + x^2) favours large weights without zeroing small ones.
    for (int j = 0; j < kBlock; ++j)
      w[j] = qw ? qw[ib * kBlock + j] * std::sqrt(sigma2 + xb[j] * xb[j]) : xb[j] * xb[j];
    scales[ib] = search_block_scale(xb, w, L + ib * kBlock);
    if (std::fabs(scales[ib]) > amax_scale) {
      amax_scale = std::fabs(scales[ib]);
      max_scale = scales[ib];
    }
  }

  if (nblocks > 1) {
    // IQ4_XS: one f16 super scale, 6-bit signed sub-block multipliers; the extreme maps to -32.
    const float d = -max_scale / 32.0f;
    *dh = fp32_to_fp16(d);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    *scales_h = 0;
    std::memset(scales_l, 0, size_t(nblocks / 2));
    for (int ib = 0; ib < nblocks; ++ib) {
      const int l = std::clamp(round_ne(id * scales[ib]), -32, 31);
      // Requantize with the scale actually representable (the f32 d, as the reference does).
      const float dl = d * float(l);
      const float idl = dl != 0.0f ? 1.0f / dl : 0.0f;
      for (int j = 0; j < kBlock; ++j) L[ib * kBlock + j] = uint8_t(iq4_nearest_index(idl * x[ib * kBlock + j]));
      const int u = l + 32;
      scales_l[ib / 2] |= uint8_t((u & 0x0F) << (4 * (ib % 2)));
      *scales_h = uint16_t(*scales_h | ((u >> 4) << (2 * ib)));
    }
  } else {
    // IQ4_NL: the block scale is stored directly; requantize with the final f32 scale.
    *dh = fp32_to_fp16(scales[0]);
    const float id = scales[0] != 0.0f ? 1.0f / scales[0] : 0.0f;
    for (int j = 0; j < kBlock; ++j) L[j] = uint8_t(iq4_nearest_index(id * x[j]));
  }

  for (int ib = 0; ib < nblocks; ++ib)
    for (int j = 0; j < 16; ++j)
      qs[16 * ib + j] = uint8_t(L[kBlock * ib + j] | (L[kBlock * ib + 16 + j] << 4));
}

}  // namespace kq
