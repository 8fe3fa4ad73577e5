// AVX2 batched scale searches: eight independent groups at once, one group per lane. Each lane
// runs the scalar reference's float operations in the scalar order (sums over i stay sequential;
// no fma: the build sets -ffp-contract=off), so every lane's result is the reference's bytes.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "quant/scale_search.h"
#include "quant/simd_avx2.h"

namespace kq::avx2 {
namespace {

constexpr int kLanes = 8;
constexpr int kMaxN = 32;  // longest group handled in lanes; longer ones take the scalar path

// round_ne on each lane: the same 1.5·2^23 bias trick, so even NaN and huge values give the same ints.
KQ_AVX2_INLINE __m256i round_ne8(__m256 v) {
  const __m256i bits = _mm256_castps_si256(_mm256_add_ps(v, _mm256_set1_ps(12582912.0f)));
  return _mm256_sub_epi32(_mm256_and_si256(bits, _mm256_set1_epi32(0x7FFFFF)), _mm256_set1_epi32(0x400000));
}

// max(lo, min(hi, l)) as in clamp_level, converted to float (exact for these small ints).
KQ_AVX2_INLINE __m256 clamp_to_float(__m256i l, __m256i lo, __m256i hi) {
  return _mm256_cvtepi32_ps(_mm256_max_epi32(lo, _mm256_min_epi32(hi, l)));
}

KQ_AVX2_INLINE __m256 abs8(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

KQ_AVX2_INLINE __m256 select(__m256 mask, __m256 if_true, __m256 if_false) {
  return _mm256_blendv_ps(if_false, if_true, mask);
}

// Element i of eight groups of n values (group g at p + n·g) into lane g, for i < n.
KQ_AVX2_INLINE void load_lanes(const float* p, int n, __m256* out) {
  const __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(n));
  for (int i = 0; i < n; ++i) out[i] = _mm256_i32gather_ps(p + i, idx, 4);
}

// Writes lane g of the integer-valued levels[i] + offset to out[n·g + i].
template <class T>
KQ_AVX2_INLINE void store_lanes(const __m256* levels, int n, int offset, T* out) {
  alignas(32) int32_t tmp[kLanes];
  for (int i = 0; i < n; ++i) {
    _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), _mm256_cvttps_epi32(levels[i]));
    for (int g = 0; g < kLanes; ++g) out[ptrdiff_t(n) * g + i] = T(tmp[g] + offset);
  }
}

// asymmetric_search (quant/scale_search.cpp) on eight groups of p.n <= kMaxN values.
void asymmetric8(const AsymmetricSearch& p, const float* x, const float* weights, uint8_t* levels, float* scales,
                 float* the_mins) {
  const int n = p.n;
  __m256 xv[kMaxN] = {}, wv[kMaxN] = {}, best_l[kMaxN], aux[kMaxN];
  load_lanes(x, n, xv);
  if (weights) {
    load_lanes(weights, n, wv);
  } else {
    for (int i = 0; i < n; ++i) wv[i] = p.default_x2 ? _mm256_mul_ps(xv[i], xv[i]) : _mm256_set1_ps(1.0f);
  }
  const auto error_of = [&](__m256 diff) { return p.use_mad ? abs8(diff) : _mm256_mul_ps(diff, diff); };
  const __m256i lo = _mm256_setzero_si256(), hi = _mm256_set1_epi32(p.nmax);
  const __m256 zero = _mm256_setzero_ps();

  __m256 min = xv[0], max = xv[0];
  __m256 sum_w = wv[0];
  __m256 sum_x = _mm256_mul_ps(wv[0], xv[0]);
  for (int i = 1; i < n; ++i) {
    min = _mm256_min_ps(xv[i], min);  // std::min(min, x): x < min ? x : min
    max = _mm256_max_ps(xv[i], max);  // std::max(max, x): max < x ? x : max
    sum_w = _mm256_add_ps(sum_w, wv[i]);
    sum_x = _mm256_add_ps(sum_x, _mm256_mul_ps(wv[i], xv[i]));
  }
  min = select(_mm256_cmp_ps(min, zero, _CMP_GT_OQ), zero, min);
  const __m256 degenerate = _mm256_cmp_ps(max, min, _CMP_LE_OQ);  // these lanes return all-zero levels
  const __m256 min0 = min;

  __m256 iscale = _mm256_div_ps(_mm256_set1_ps(float(p.nmax)), _mm256_sub_ps(max, min));
  __m256 scale = _mm256_div_ps(_mm256_set1_ps(1.0f), iscale);
  __m256 best_err = zero;
  for (int i = 0; i < n; ++i) {
    best_l[i] = clamp_to_float(round_ne8(_mm256_mul_ps(iscale, _mm256_sub_ps(xv[i], min))), lo, hi);
    const __m256 diff = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(scale, best_l[i]), min), xv[i]);
    best_err = _mm256_add_ps(best_err, _mm256_mul_ps(wv[i], error_of(diff)));
  }
  for (int is = 0; is <= p.nstep && p.nstep >= 1; ++is) {
    iscale = _mm256_div_ps(_mm256_set1_ps(p.rmin + p.rdelta * float(is) + float(p.nmax)), _mm256_sub_ps(max, min));
    __m256 sum_l = zero, sum_l2 = zero, sum_xl = zero;
    for (int i = 0; i < n; ++i) {
      aux[i] = clamp_to_float(round_ne8(_mm256_mul_ps(iscale, _mm256_sub_ps(xv[i], min))), lo, hi);
      const __m256 wl = _mm256_mul_ps(wv[i], aux[i]);
      sum_l = _mm256_add_ps(sum_l, wl);
      sum_l2 = _mm256_add_ps(sum_l2, _mm256_mul_ps(wl, aux[i]));
      sum_xl = _mm256_add_ps(sum_xl, _mm256_mul_ps(wl, xv[i]));
    }
    const __m256 det = _mm256_sub_ps(_mm256_mul_ps(sum_w, sum_l2), _mm256_mul_ps(sum_l, sum_l));
    const __m256 valid = _mm256_cmp_ps(det, zero, _CMP_GT_OQ);
    if (_mm256_movemask_ps(valid) == 0) continue;
    __m256 this_scale =
        _mm256_div_ps(_mm256_sub_ps(_mm256_mul_ps(sum_w, sum_xl), _mm256_mul_ps(sum_x, sum_l)), det);
    __m256 this_min = _mm256_div_ps(_mm256_sub_ps(_mm256_mul_ps(sum_l2, sum_x), _mm256_mul_ps(sum_l, sum_xl)), det);
    const __m256 positive = _mm256_cmp_ps(this_min, zero, _CMP_GT_OQ);
    this_min = select(positive, zero, this_min);
    this_scale = select(positive, _mm256_div_ps(sum_xl, sum_l2), this_scale);
    __m256 err = zero;
    for (int i = 0; i < n; ++i) {
      const __m256 diff = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(this_scale, aux[i]), this_min), xv[i]);
      err = _mm256_add_ps(err, _mm256_mul_ps(wv[i], error_of(diff)));
    }
    const __m256 better = _mm256_and_ps(valid, _mm256_cmp_ps(err, best_err, _CMP_LT_OQ));
    if (_mm256_movemask_ps(better) == 0) continue;
    for (int i = 0; i < n; ++i) best_l[i] = select(better, aux[i], best_l[i]);
    best_err = select(better, err, best_err);
    scale = select(better, this_scale, scale);
    min = select(better, this_min, min);
  }
  for (int i = 0; i < n; ++i) best_l[i] = select(degenerate, zero, best_l[i]);
  scale = select(degenerate, zero, scale);
  min = select(degenerate, min0, min);
  store_lanes(best_l, n, 0, levels);
  _mm256_storeu_ps(scales, scale);
  _mm256_storeu_ps(the_mins, _mm256_xor_ps(min, _mm256_set1_ps(-0.0f)));
}

void asymmetric_batch(const AsymmetricSearch& p, int groups, const float* x, const float* weights, uint8_t* levels,
                      float* scales, float* the_mins) {
  int g = 0;
  if (p.n >= 1 && p.n <= kMaxN) {
    for (; g + kLanes <= groups; g += kLanes) {
      const ptrdiff_t o = ptrdiff_t(g) * p.n;
      asymmetric8(p, x + o, weights ? weights + o : nullptr, levels + o, scales + g, the_mins + g);
    }
  }
  if (g < groups) {
    const ptrdiff_t o = ptrdiff_t(g) * p.n;
    make_qkx_quants_batch_scalar(p, groups - g, x + o, weights ? weights + o : nullptr, levels + o, scales + g,
                                 the_mins + g);
  }
}

// make_qx_quants (quant/scale_search.cpp) with rmse_type != 0 on eight groups of n <= kMaxN values.
void qx8(int n, int nmax, const float* x, int8_t* levels, int rmse_type, const float* w, float* scales) {
  __m256 xv[kMaxN] = {}, wv[kMaxN] = {}, best_l[kMaxN], cand[kMaxN];
  load_lanes(x, n, xv);
  if (w) {
    load_lanes(w, n, wv);
  } else {
    for (int i = 0; i < n; ++i) {
      switch (rmse_type) {
        case 1: wv[i] = _mm256_mul_ps(xv[i], xv[i]); break;
        case 2: wv[i] = _mm256_set1_ps(1.0f); break;
        case 3: wv[i] = abs8(xv[i]); break;
        default: wv[i] = _mm256_sqrt_ps(abs8(xv[i])); break;
      }
    }
  }
  const __m256 zero = _mm256_setzero_ps();
  const __m256i lo = _mm256_set1_epi32(-nmax), hi = _mm256_set1_epi32(nmax - 1);

  // signed_max: the value of largest magnitude, the first one on ties.
  __m256 max = zero, amax = zero;
  for (int i = 0; i < n; ++i) {
    const __m256 ax = abs8(xv[i]);
    const __m256 gt = _mm256_cmp_ps(ax, amax, _CMP_GT_OQ);
    amax = select(gt, ax, amax);
    max = select(gt, xv[i], max);
  }
  const __m256 all_zero = _mm256_cmp_ps(amax, _mm256_set1_ps(1e-15f), _CMP_LT_OQ);

  // One candidate grid: levels into l[], weighted sums Σw·x·l and Σw·l².
  const auto fit = [&](float minus_nmax, __m256* l, __m256& sumlx, __m256& suml2) {
    const __m256 iscale = _mm256_div_ps(_mm256_set1_ps(minus_nmax), max);
    sumlx = zero;
    suml2 = zero;
    for (int i = 0; i < n; ++i) {
      l[i] = clamp_to_float(round_ne8(_mm256_mul_ps(iscale, xv[i])), lo, hi);
      sumlx = _mm256_add_ps(sumlx, _mm256_mul_ps(_mm256_mul_ps(wv[i], xv[i]), l[i]));
      suml2 = _mm256_add_ps(suml2, _mm256_mul_ps(_mm256_mul_ps(wv[i], l[i]), l[i]));
    }
  };
  __m256 sumlx, suml2;
  fit(-float(nmax), best_l, sumlx, suml2);
  __m256 scale = select(_mm256_cmp_ps(suml2, zero, _CMP_NEQ_UQ), _mm256_div_ps(sumlx, suml2), zero);
  __m256 best = _mm256_mul_ps(scale, sumlx);
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    fit(-(float(nmax) + 0.1f * float(is)), cand, sumlx, suml2);
    const __m256 better = _mm256_and_ps(
        _mm256_cmp_ps(suml2, zero, _CMP_GT_OQ),
        _mm256_cmp_ps(_mm256_mul_ps(sumlx, sumlx), _mm256_mul_ps(best, suml2), _CMP_GT_OQ));
    if (_mm256_movemask_ps(better) == 0) continue;
    for (int i = 0; i < n; ++i) best_l[i] = select(better, cand[i], best_l[i]);
    scale = select(better, _mm256_div_ps(sumlx, suml2), scale);
    best = select(better, _mm256_mul_ps(scale, sumlx), best);
  }
  // All-zero groups: level 0 (not the +nmax offset) and scale 0.
  const __m256 minus_nmax = _mm256_set1_ps(-float(nmax));
  for (int i = 0; i < n; ++i) best_l[i] = select(all_zero, minus_nmax, best_l[i]);
  store_lanes(best_l, n, nmax, levels);
  _mm256_storeu_ps(scales, select(all_zero, zero, scale));
}

void qx_batch(int groups, int n, int nmax, const float* x, int8_t* levels, int rmse_type, const float* w,
              float* scales) {
  int g = 0;
  if (n >= 1 && n <= kMaxN && rmse_type != 0) {
    for (; g + kLanes <= groups; g += kLanes) {
      const ptrdiff_t o = ptrdiff_t(g) * n;
      qx8(n, nmax, x + o, levels + o, rmse_type, w ? w + o : nullptr, scales + g);
    }
  }
  if (g < groups) {
    const ptrdiff_t o = ptrdiff_t(g) * n;
    make_qx_quants_batch_scalar(groups - g, n, nmax, x + o, levels + o, rmse_type, w ? w + o : nullptr, scales + g);
  }
}

}  // namespace

void fill_scale_search(KernelTable& t) {
  t.search.asymmetric = asymmetric_batch;
  t.search.qx = qx_batch;
  t.search.name = "avx2";
}

}  // namespace kq::avx2
