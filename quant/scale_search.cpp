// Scale searches shared by the quantizers (formats.md C.2): fit a scale (and min) to a group of values.
//
// The float expressions keep ggml's evaluation order on purpose (e.g. w*x*l is (w*x)*l): the
// build disables contraction, so the same order gives the same blocks as llama-quantize.
#include "quant/scale_search.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "common/error.h"
#include "common/fp16.h"
#include "quant/kernels.h"

namespace kq {

namespace {

// Groups whose largest magnitude is below this are treated as all zero.
constexpr float kGroupMaxEps = 1e-15f;

// Returns the signed value of largest magnitude (the first one on ties) and its magnitude.
void signed_max(int n, const float* x, float* max, float* amax) {
  *max = 0.0f;
  *amax = 0.0f;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > *amax) {
      *amax = ax;
      *max = x[i];
    }
  }
}

int clamp_level(int l, int lo, int hi) {
  return std::max(lo, std::min(hi, l));
}

// Weight of element i for make_qx_quants when no explicit weights are given.
float qx_weight(const float* w, const float* x, int i, int rmse_type) {
  if (w) return w[i];
  switch (rmse_type) {
    case 1:
      return x[i] * x[i];
    case 2:
      return 1.0f;
    case 3:
      return std::fabs(x[i]);
    default:
      return std::sqrt(std::fabs(x[i]));
  }
}

// The asymmetric search behind make_qkx2_quants / make_qkx3_quants; default_x2 selects x^2 as
// the weight when weights is null.
float asymmetric_search(int n, int nmax, const float* x, const float* weights, bool default_x2, uint8_t* levels,
                        float* the_min, uint8_t* aux_levels, float rmin, float rdelta, int nstep, bool use_mad) {
  auto weight = [&](int i) { return weights ? weights[i] : (default_x2 ? x[i] * x[i] : 1.0f); };
  float min = x[0];
  float max = x[0];
  float sum_w = weight(0);
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    min = std::min(min, x[i]);
    max = std::max(max, x[i]);
    const float w = weight(i);
    sum_w += w;
    sum_x += w * x[i];
  }
  // The offset only ever shifts down: the dequantized value is scale*levels - the_min with the_min >= 0.
  if (min > 0) min = 0;
  if (max <= min) {
    std::memset(levels, 0, size_t(n));
    *the_min = -min;
    return 0.0f;
  }
  auto error_of = [&](float diff) { return use_mad ? std::fabs(diff) : diff * diff; };

  float iscale = float(nmax) / (max - min);
  float scale = 1 / iscale;
  float best_err = 0;
  for (int i = 0; i < n; ++i) {
    levels[i] = uint8_t(clamp_level(round_ne(iscale * (x[i] - min)), 0, nmax));
    const float diff = scale * levels[i] + min - x[i];
    best_err += weight(i) * error_of(diff);
  }
  if (nstep < 1) {
    *the_min = -min;
    return scale;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * float(is) + float(nmax)) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = clamp_level(round_ne(iscale * (x[i] - min)), 0, nmax);
      aux_levels[i] = uint8_t(l);
      const float w = weight(i);
      sum_l += w * float(l);
      sum_l2 += w * float(l) * float(l);
      sum_xl += w * float(l) * x[i];
    }
    // Weighted least squares for x ~ s*l + m over the candidate levels.
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (!(det > 0)) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (this_min > 0) {
      this_min = 0;
      this_scale = sum_xl / sum_l2;
    }
    float err = 0;
    for (int i = 0; i < n; ++i) {
      const float diff = this_scale * aux_levels[i] + this_min - x[i];
      err += weight(i) * error_of(diff);
    }
    if (err < best_err) {
      std::memcpy(levels, aux_levels, size_t(n));
      best_err = err;
      scale = this_scale;
      min = this_min;
    }
  }
  *the_min = -min;
  return scale;
}

}  // namespace

float make_qx_quants(int n, int nmax, const float* x, int8_t* levels, int rmse_type, const float* w) {
  float max, amax;
  signed_max(n, x, &max, &amax);
  if (amax < kGroupMaxEps) {
    std::memset(levels, 0, size_t(n));
    return 0.0f;
  }
  // Map the extreme to -nmax: the asymmetric level range [-nmax, nmax-1] is then fully used.
  float iscale = -float(nmax) / max;
  if (rmse_type == 0) {
    for (int i = 0; i < n; ++i) levels[i] = int8_t(nmax + clamp_level(round_ne(iscale * x[i]), -nmax, nmax - 1));
    return 1 / iscale;
  }
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = clamp_level(round_ne(iscale * x[i]), -nmax, nmax - 1);
    levels[i] = int8_t(l + nmax);
    const float wi = qx_weight(w, x, i, rmse_type);
    sumlx += wi * x[i] * float(l);
    suml2 += wi * float(l) * float(l);
  }
  float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
  // scale*sumlx = sumlx^2/suml2: the drop in weighted squared error this fit achieves.
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(float(nmax) + 0.1f * float(is)) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = clamp_level(round_ne(iscale * x[i]), -nmax, nmax - 1);
      const float wi = qx_weight(w, x, i, rmse_type);
      sumlx += wi * x[i] * float(l);
      suml2 += wi * float(l) * float(l);
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) {
        levels[i] = int8_t(nmax + clamp_level(round_ne(iscale * x[i]), -nmax, nmax - 1));
      }
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

float make_q3_quants(int n, int nmax, const float* x, int8_t* levels, bool do_rmse) {
  float max, amax;
  signed_max(n, x, &max, &amax);
  if (amax < kGroupMaxEps) {
    std::memset(levels, 0, size_t(n));
    return 0.0f;
  }
  const float iscale = -float(nmax) / max;
  if (!do_rmse) {
    for (int i = 0; i < n; ++i) levels[i] = int8_t(clamp_level(round_ne(iscale * x[i]), -nmax, nmax - 1) + nmax);
    return 1 / iscale;
  }
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = clamp_level(round_ne(iscale * x[i]), -nmax, nmax - 1);
    levels[i] = int8_t(l);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * float(l);
    suml2 += w * float(l) * float(l);
  }
  // Coordinate descent: move one level at a time to its best value given all the others.
  for (int pass = 0; pass < 5; ++pass) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * float(levels[i]);
      if (!(slx > 0)) continue;
      float sl2 = suml2 - w * float(levels[i]) * float(levels[i]);
      const int new_l = clamp_level(round_ne(x[i] * sl2 / slx), -nmax, nmax - 1);
      if (new_l == levels[i]) continue;
      slx += w * x[i] * float(new_l);
      sl2 += w * float(new_l) * float(new_l);
      if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
        levels[i] = int8_t(new_l);
        sumlx = slx;
        suml2 = sl2;
        ++changed;
      }
    }
    if (!changed) break;
  }
  for (int i = 0; i < n; ++i) levels[i] = int8_t(levels[i] + nmax);
  return sumlx / suml2;
}

float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* levels, float* the_min,
                       uint8_t* aux_levels, float rmin, float rdelta, int nstep, bool use_mad) {
  return asymmetric_search(n, nmax, x, weights, false, levels, the_min, aux_levels, rmin, rdelta, nstep, use_mad);
}

float make_qkx3_quants(int n, int nmax, const float* x, const float* weights, uint8_t* levels, float* the_min,
                       uint8_t* aux_levels, float rmin, float rdelta, int nstep, bool use_mad) {
  return asymmetric_search(n, nmax, x, weights, true, levels, the_min, aux_levels, rmin, rdelta, nstep, use_mad);
}

float make_qp_quants(int n, int nmax, const float* x, uint8_t* levels, const float* quant_weights) {
  float max = 0;
  for (int i = 0; i < n; ++i) max = std::max(max, x[i]);
  if (max < kGroupMaxEps) {
    std::memset(levels, 0, size_t(n));
    return 0.0f;
  }
  // Pick the starting grid by weighted MSE over a few stretches of nmax/max.
  float iscale = float(nmax) / max;
  for (int i = 0; i < n; ++i) levels[i] = uint8_t(round_ne(iscale * x[i]));
  const float scale = 1 / iscale;
  float best_mse = 0;
  for (int i = 0; i < n; ++i) {
    const float diff = x[i] - scale * levels[i];
    best_mse += quant_weights[i] * diff * diff;
  }
  for (int is = -4; is <= 4; ++is) {
    if (is == 0) continue;
    const float iscale_is = (0.1f * float(is) + float(nmax)) / max;
    const float scale_is = 1 / iscale_is;
    float mse = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::min(nmax, round_ne(iscale_is * x[i]));
      const float diff = x[i] - scale_is * float(l);
      mse += quant_weights[i] * diff * diff;
    }
    if (mse < best_mse) {
      best_mse = mse;
      iscale = iscale_is;
    }
  }
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::min(nmax, round_ne(iscale * x[i]));
    levels[i] = uint8_t(l);
    const float w = quant_weights[i];
    sumlx += w * x[i] * float(l);
    suml2 += w * float(l) * float(l);
  }
  for (int pass = 0; pass < 5; ++pass) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = quant_weights[i];
      float slx = sumlx - w * x[i] * float(levels[i]);
      float sl2 = suml2 - w * float(levels[i]) * float(levels[i]);
      if (!(slx > 0 && sl2 > 0)) continue;
      const int new_l = std::min(nmax, round_ne(x[i] * sl2 / slx));
      if (new_l == levels[i]) continue;
      slx += w * x[i] * float(new_l);
      sl2 += w * float(new_l) * float(new_l);
      if (slx * slx * suml2 > sumlx * sumlx * sl2) {
        levels[i] = uint8_t(new_l);
        sumlx = slx;
        suml2 = sl2;
        ++changed;
      }
    }
    if (!changed) break;
  }
  return sumlx / suml2;
}

void make_qkx_quants_batch_scalar(const AsymmetricSearch& p, int groups, const float* x, const float* weights,
                                  uint8_t* levels, float* scales, float* the_mins) {
  uint8_t aux[256];
  if (p.n > 256) throw Error("make_qkx_quants_batch: group of " + std::to_string(p.n) + " values (at most 256)");
  for (int g = 0; g < groups; ++g) {
    const ptrdiff_t o = ptrdiff_t(g) * p.n;
    scales[g] = asymmetric_search(p.n, p.nmax, x + o, weights ? weights + o : nullptr, p.default_x2, levels + o,
                                  &the_mins[g], aux, p.rmin, p.rdelta, p.nstep, p.use_mad);
  }
}

void make_qx_quants_batch_scalar(int groups, int n, int nmax, const float* x, int8_t* levels, int rmse_type,
                                 const float* w, float* scales) {
  for (int g = 0; g < groups; ++g) {
    const ptrdiff_t o = ptrdiff_t(g) * n;
    scales[g] = make_qx_quants(n, nmax, x + o, levels + o, rmse_type, w ? w + o : nullptr);
  }
}

void make_qkx_quants_batch(const AsymmetricSearch& p, int groups, const float* x, const float* weights, uint8_t* levels,
                           float* scales, float* the_mins) {
  kernels().search.asymmetric(p, groups, x, weights, levels, scales, the_mins);
}

void make_qx_quants_batch(int groups, int n, int nmax, const float* x, int8_t* levels, int rmse_type, const float* w,
                          float* scales) {
  kernels().search.qx(groups, n, nmax, x, levels, rmse_type, w, scales);
}

}  // namespace kq
