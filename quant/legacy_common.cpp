// Helpers shared by the legacy 32-element block types: imatrix weights and the Q8 block quantizer.
#include "quant/legacy_common.h"

#include <cmath>

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
