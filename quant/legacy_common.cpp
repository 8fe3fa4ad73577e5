// Helpers shared by the legacy 32-element block types: imatrix weights and the Q8 block quantizer.
#include "quant/legacy_common.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "quant/scale_search.h"

namespace kq {

float legacy_row_sigma2(const float* src, int64_t n) {
  float sum_x2 = 0.0f;
  for (int64_t j = 0; j < n; ++j) sum_x2 += src[j] * src[j];
  return sum_x2 / float(n);
}

void legacy_block_weights(const float* x, const float* importance, float sigma2, float* w) {
  for (int j = 0; j < 32; ++j) w[j] = importance[j] * std::sqrt(sigma2 + x[j] * x[j]);
}

float legacy_inverse_scale(float d) {
  // Guard 1/d overflowing for tiny d (|d| below ~1e-37).
  return d != 0.0f && std::isfinite(1.0f / d) ? 1.0f / d : 0.0f;
}

float signed_absmax(const float* x) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < 32; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

void block_min_max(const float* x, float& min, float& max) {
  min = FLT_MAX;
  max = -FLT_MAX;
  for (int j = 0; j < 32; ++j) {
    min = std::min(min, x[j]);
    max = std::max(max, x[j]);
  }
}

float quantize_block_min_weighted(const float* x, const float* w, int nmax, uint8_t* L, float& min) {
  uint8_t Laux[32];
  float the_min = 0.0f;
  const float d = make_qkx3_quants(32, nmax, x, w, L, &the_min, Laux, -0.9f, 0.05f, 36, false);
  min = -the_min;
  return d;
}

float quantize_block_q8(const float* x, int8_t* qs) {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  // Multiplying by the reciprocal (not dividing) is what the reference does; it can differ in
  // the last unit, which decides ties.
  const float id = legacy_inverse_scale(d);
  for (int j = 0; j < 32; ++j) qs[j] = int8_t(std::round(x[j] * id));
  return d;
}

}  // namespace kq
