// The batched scale searches written once over a SIMD lane type V, one independent group per lane.
// Each lane runs the scalar reference's float operations (quant/scale_search.cpp) in the scalar
// order: sums over i stay sequential, every product and sum is a separate rounding (no fma; the
// build sets -ffp-contract=off), round_ne uses the same bias trick and the comparisons keep the
// reference's NaN behaviour, so every lane gives the reference's bytes.
//
// Include only from a file compiled for V's instruction set (quant/scale_search_<isa>.cpp).
// Everything here has internal linkage, so each ISA file keeps its own copy.
//
// V provides the types F (floats), I (int32s), M (lane mask) and kLanes, and: zero, set1, seti,
// add, sub, mul, div, sqrt, abs, neg; min_ps / max_ps with minps / maxps semantics (a < b ? a : b,
// a > b ? a : b); the ordered compares gt, lt, le and the unordered neq_uq; select(m, if_true,
// if_false), mask_and, any; gather(p, stride) (lane g = p[stride·g]); round_ne; clamp_to_float
// (clamp to [lo, hi], then to float); store_ints (truncate to int32) and store.
#pragma once

#include <cstddef>
#include <cstdint>

#include "quant/scale_search.h"

namespace kq {
namespace {
namespace lanes {

constexpr int kMaxN = 32;  // longest group the lane searches take; longer ones use the scalar path

// Element i of V::kLanes groups of n values (group g at p + n·g) into lane g, for i < n.
template <class V>
inline void load_groups(const float* p, int n, typename V::F* out) {
  for (int i = 0; i < n; ++i) out[i] = V::gather(p + i, n);
}

// Writes lane g of the integer-valued levels[i] + offset to out[n·g + i].
template <class V, class T>
inline void store_groups(const typename V::F* levels, int n, int offset, T* out) {
  alignas(64) int32_t tmp[V::kLanes];
  for (int i = 0; i < n; ++i) {
    V::store_ints(tmp, levels[i]);
    for (int g = 0; g < V::kLanes; ++g) out[ptrdiff_t(n) * g + i] = T(tmp[g] + offset);
  }
}

// asymmetric_search on V::kLanes groups of p.n <= kMaxN values (N: p.n known at compile time, or 0).
template <class V, int N>
void asymmetric(const AsymmetricSearch& p, const float* x, const float* weights, uint8_t* levels, float* scales,
                float* the_mins) {
  using F = typename V::F;
  using M = typename V::M;
  const int n = N ? N : p.n;
  F xv[kMaxN] = {}, wv[kMaxN] = {}, best_l[kMaxN], aux[kMaxN];
  load_groups<V>(x, n, xv);
  if (weights) {
    load_groups<V>(weights, n, wv);
  } else {
    for (int i = 0; i < n; ++i) wv[i] = p.default_x2 ? V::mul(xv[i], xv[i]) : V::set1(1.0f);
  }
  const auto error_of = [&](F diff) { return p.use_mad ? V::abs(diff) : V::mul(diff, diff); };
  const auto lo = V::seti(0), hi = V::seti(p.nmax);
  const F zero = V::zero();

  F min = xv[0], max = xv[0];
  F sum_w = wv[0];
  F sum_x = V::mul(wv[0], xv[0]);
  for (int i = 1; i < n; ++i) {
    min = V::min_ps(xv[i], min);  // std::min(min, x): x < min ? x : min
    max = V::max_ps(xv[i], max);  // std::max(max, x): max < x ? x : max
    sum_w = V::add(sum_w, wv[i]);
    sum_x = V::add(sum_x, V::mul(wv[i], xv[i]));
  }
  min = V::select(V::gt(min, zero), zero, min);
  const M degenerate = V::le(max, min);  // these lanes return scale 0 and all-zero levels
  const F min0 = min;

  F iscale = V::div(V::set1(float(p.nmax)), V::sub(max, min));
  F scale = V::div(V::set1(1.0f), iscale);
  F best_err = zero;
  for (int i = 0; i < n; ++i) {
    best_l[i] = V::clamp_to_float(V::round_ne(V::mul(iscale, V::sub(xv[i], min))), lo, hi);
    const F diff = V::sub(V::add(V::mul(scale, best_l[i]), min), xv[i]);
    best_err = V::add(best_err, V::mul(wv[i], error_of(diff)));
  }
  for (int is = 0; p.nstep >= 1 && is <= p.nstep; ++is) {
    // min moves whenever a candidate wins, and every later candidate starts from it: the
    // candidates of one group are sequential, only the groups are independent.
    iscale = V::div(V::set1(p.rmin + p.rdelta * float(is) + float(p.nmax)), V::sub(max, min));
    F sum_l = zero, sum_l2 = zero, sum_xl = zero;
    for (int i = 0; i < n; ++i) {
      aux[i] = V::clamp_to_float(V::round_ne(V::mul(iscale, V::sub(xv[i], min))), lo, hi);
      const F wl = V::mul(wv[i], aux[i]);
      sum_l = V::add(sum_l, wl);
      sum_l2 = V::add(sum_l2, V::mul(wl, aux[i]));
      sum_xl = V::add(sum_xl, V::mul(wl, xv[i]));
    }
    const F det = V::sub(V::mul(sum_w, sum_l2), V::mul(sum_l, sum_l));
    const M valid = V::gt(det, zero);
    if (!V::any(valid)) continue;
    F this_scale = V::div(V::sub(V::mul(sum_w, sum_xl), V::mul(sum_x, sum_l)), det);
    F this_min = V::div(V::sub(V::mul(sum_l2, sum_x), V::mul(sum_l, sum_xl)), det);
    const M positive = V::gt(this_min, zero);
    this_min = V::select(positive, zero, this_min);
    this_scale = V::select(positive, V::div(sum_xl, sum_l2), this_scale);
    F err = zero;
    for (int i = 0; i < n; ++i) {
      const F diff = V::sub(V::add(V::mul(this_scale, aux[i]), this_min), xv[i]);
      err = V::add(err, V::mul(wv[i], error_of(diff)));
    }
    const M better = V::mask_and(valid, V::lt(err, best_err));
    if (!V::any(better)) continue;
    for (int i = 0; i < n; ++i) best_l[i] = V::select(better, aux[i], best_l[i]);
    best_err = V::select(better, err, best_err);
    scale = V::select(better, this_scale, scale);
    min = V::select(better, this_min, min);
  }
  for (int i = 0; i < n; ++i) best_l[i] = V::select(degenerate, zero, best_l[i]);
  store_groups<V>(best_l, n, 0, levels);
  V::store(scales, V::select(degenerate, zero, scale));
  V::store(the_mins, V::neg(V::select(degenerate, min0, min)));
}

// make_qx_quants with rmse_type != 0 on V::kLanes groups of n <= kMaxN values (N: n known at
// compile time, or 0).
template <class V, int N>
void symmetric(int n_, int nmax, const float* x, int8_t* levels, int rmse_type, const float* w, float* scales) {
  const int n = N ? N : n_;
  using F = typename V::F;
  using M = typename V::M;
  F xv[kMaxN] = {}, wv[kMaxN] = {}, best_l[kMaxN], cand[kMaxN];
  load_groups<V>(x, n, xv);
  if (w) {
    load_groups<V>(w, n, wv);
  } else {
    for (int i = 0; i < n; ++i) {
      switch (rmse_type) {
        case 1: wv[i] = V::mul(xv[i], xv[i]); break;
        case 2: wv[i] = V::set1(1.0f); break;
        case 3: wv[i] = V::abs(xv[i]); break;
        default: wv[i] = V::sqrt(V::abs(xv[i])); break;
      }
    }
  }
  const F zero = V::zero();
  const auto lo = V::seti(-nmax), hi = V::seti(nmax - 1);

  // signed_max: the value of largest magnitude, the first one on ties.
  F max = zero, amax = zero;
  for (int i = 0; i < n; ++i) {
    const F ax = V::abs(xv[i]);
    const M gt = V::gt(ax, amax);
    amax = V::select(gt, ax, amax);
    max = V::select(gt, xv[i], max);
  }
  const M all_zero = V::lt(amax, V::set1(1e-15f));

  // One candidate grid at iscale = minus_nmax / max: levels into l[], Σ(w·x)·l and Σ(w·l)·l.
  const auto fit = [&](float minus_nmax, F* l, F& sumlx, F& suml2) {
    const F iscale = V::div(V::set1(minus_nmax), max);
    sumlx = zero;
    suml2 = zero;
    for (int i = 0; i < n; ++i) {
      l[i] = V::clamp_to_float(V::round_ne(V::mul(iscale, xv[i])), lo, hi);
      sumlx = V::add(sumlx, V::mul(V::mul(wv[i], xv[i]), l[i]));
      suml2 = V::add(suml2, V::mul(V::mul(wv[i], l[i]), l[i]));
    }
  };
  F sumlx, suml2;
  fit(-float(nmax), best_l, sumlx, suml2);
  F scale = V::select(V::neq_uq(suml2, zero), V::div(sumlx, suml2), zero);
  F best = V::mul(scale, sumlx);
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    fit(-(float(nmax) + 0.1f * float(is)), cand, sumlx, suml2);
    const M better = V::mask_and(V::gt(suml2, zero), V::gt(V::mul(sumlx, sumlx), V::mul(best, suml2)));
    if (!V::any(better)) continue;
    for (int i = 0; i < n; ++i) best_l[i] = V::select(better, cand[i], best_l[i]);
    scale = V::select(better, V::div(sumlx, suml2), scale);
    best = V::select(better, V::mul(scale, sumlx), best);
  }
  // All-zero groups: level 0 (not the +nmax offset) and scale 0.
  const F minus_nmax = V::set1(-float(nmax));
  for (int i = 0; i < n; ++i) best_l[i] = V::select(all_zero, minus_nmax, best_l[i]);
  store_groups<V>(best_l, n, nmax, levels);
  V::store(scales, V::select(all_zero, zero, scale));
}

// The batch entry points, with the kernel table's signatures: whole lane sets here, the rest
// through kBelow (the next narrower level's entry).
template <class V, AsymmetricBatchFn kBelow>
void asymmetric_batch(const AsymmetricSearch& p, int groups, const float* x, const float* weights, uint8_t* levels,
                      float* scales, float* the_mins) {
  int g = 0;
  if (p.n >= 1 && p.n <= kMaxN) {
    for (; g + V::kLanes <= groups; g += V::kLanes) {
      const ptrdiff_t o = ptrdiff_t(g) * p.n;
      const float* wo = weights ? weights + o : nullptr;
      if (p.n == 32) {
        asymmetric<V, 32>(p, x + o, wo, levels + o, scales + g, the_mins + g);
      } else if (p.n == 16) {
        asymmetric<V, 16>(p, x + o, wo, levels + o, scales + g, the_mins + g);
      } else {
        asymmetric<V, 0>(p, x + o, wo, levels + o, scales + g, the_mins + g);
      }
    }
  }
  if (g < groups) {
    const ptrdiff_t o = ptrdiff_t(g) * p.n;
    kBelow(p, groups - g, x + o, weights ? weights + o : nullptr, levels + o, scales + g, the_mins + g);
  }
}

template <class V, QxBatchFn kBelow>
void symmetric_batch(int groups, int n, int nmax, const float* x, int8_t* levels, int rmse_type, const float* w,
                     float* scales) {
  int g = 0;
  if (n >= 1 && n <= kMaxN && rmse_type != 0) {
    for (; g + V::kLanes <= groups; g += V::kLanes) {
      const ptrdiff_t o = ptrdiff_t(g) * n;
      const float* wo = w ? w + o : nullptr;
      if (n == 16) {
        symmetric<V, 16>(n, nmax, x + o, levels + o, rmse_type, wo, scales + g);
      } else {
        symmetric<V, 0>(n, nmax, x + o, levels + o, rmse_type, wo, scales + g);
      }
    }
  }
  if (g < groups) {
    const ptrdiff_t o = ptrdiff_t(g) * n;
    kBelow(groups - g, n, nmax, x + o, levels + o, rmse_type, w ? w + o : nullptr, scales + g);
  }
}

// Points the kernel table's searches at V's lane searches, with the tails of fewer than
// V::kLanes groups going to kBelowAsymmetric / kBelowQx.
template <class V, AsymmetricBatchFn kBelowAsymmetric, QxBatchFn kBelowQx>
void fill_searches(ScaleSearchKernels& s) {
  s.asymmetric = asymmetric_batch<V, kBelowAsymmetric>;
  s.qx = symmetric_batch<V, kBelowQx>;
}

}  // namespace lanes
}  // namespace
}  // namespace kq
