// The refining scale search behind kq's default quantizers (quant/refine.h): it starts from the
// llama.cpp-identical block and moves its scales only where the weighted error of the values the
// decoder will actually produce goes down, so the block format is unchanged.
//
// Every supported type decodes element i of group j as (D*s_j)*v(L_i) - (Dmin*m_j), with D and Dmin
// f16, s_j and m_j small integers (fixed at 1 for the one-scale legacy types) and v the level value
// (an integer, or IQ4's non-linear table). The search alternates two closed-form steps:
//   per group: with the levels fixed, the least-squares scale (and min), rounded down and up to the
//              integer grid; each candidate relevels the group and the lowest error wins;
//   per block: with the integers and levels fixed, the least-squares D (rounded down and up in f16)
//              and Dmin (to nearest); a candidate replaces D only if the whole block's error drops.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "common/fp16.h"
#include "quant/iq4_common.h"

namespace kq::refine {

// Integer levels lo..hi with value v(l) = l (the uniform grids of the legacy and k-quant types).
struct UniformLevels {
  static constexpr bool kUniform = true;
  int lo, hi;
  int nearest(float t) const { return std::clamp(round_ne(t), lo, hi); }
  float value(int l) const { return float(l); }
};

// IQ4's 16 non-linear levels; L is the table index.
struct Iq4Levels {
  static constexpr bool kUniform = false;
  int nearest(float t) const { return iq4_nearest_index(t); }
  float value(int l) const { return float(kIq4nlValues[l]); }
};

// Shape of one block: groups of gsize elements, integer ranges of the group scales and mins.
struct Layout {
  int ngroups, gsize;
  int s_lo, s_hi;  // s_lo == s_hi == 1: one-scale type (D is the group scale)
  int m_lo, m_hi;  // has_min false: mins absent (m_j = 0, Dmin = 0)
  bool has_min;
};

// A block's scales: f16 D and Dmin (as stored) and the integer group scales and mins.
struct Params {
  uint16_t d = 0, dmin = 0;
  int s[16] = {};
  int m[16] = {};
};

// Returns the f16 next to h on target's side (h itself when h is exact or at the end of the range):
// with h = the nearest f16 to target, {h, f16_other_side(h, target)} brackets target.
inline uint16_t f16_other_side(uint16_t h, float target) {
  const float f = fp16_to_fp32(h);
  if (f == target || !std::isfinite(target)) return h;
  const bool bigger = std::fabs(target) > std::fabs(f);
  const uint16_t mag = uint16_t(h & 0x7FFF);
  if (bigger) return mag >= 0x7BFF ? h : uint16_t(h + 1);  // stay below inf
  return mag == 0 ? h : uint16_t(h - 1);
}

// Relevels one group for scale dl and min ml (value dl*v(L) - ml, ggml's order) and returns its
// weighted squared error; L gets the nearest levels.
template <class Lv>
float group_error(const float* x, const float* w, int n, float dl, float ml, const Lv& lv, int8_t* L) {
  float err = 0;
  const float idl = dl != 0 ? 1.0f / dl : 0.0f;
  if (!std::isfinite(idl) || dl == 0) {
    const int l0 = lv.nearest(0.0f);
    const float v0 = dl * lv.value(l0) - ml;
    for (int i = 0; i < n; ++i) {
      L[i] = int8_t(l0);
      err += w[i] * (x[i] - v0) * (x[i] - v0);
    }
    return err;
  }
  if constexpr (Lv::kUniform) {
    // round_ne's trick in float form, so the loop vectorizes: adding 1.5*2^23 rounds to an integer.
    const float lo = float(lv.lo), hi = float(lv.hi);
#pragma omp simd simdlen(4) reduction(+ : err)
    for (int i = 0; i < n; ++i) {
      const float t = (x[i] + ml) * idl;
      const float l = std::min(hi, std::max(lo, (t + 12582912.0f) - 12582912.0f));
      L[i] = int8_t(l);
      const float diff = x[i] - (dl * l - ml);
      err += w[i] * diff * diff;
    }
  } else {
    for (int i = 0; i < n; ++i) {
      const int l = lv.nearest((x[i] + ml) * idl);
      L[i] = int8_t(l);
      const float diff = x[i] - (dl * lv.value(l) - ml);
      err += w[i] * diff * diff;
    }
  }
  return err;
}

// The weighted sums of one group that both least-squares steps need (v = the level values).
struct GroupSums {
  float s0 = 0, s1 = 0, s2 = 0, x0 = 0, x1 = 0;  // sum w, w*v, w*v^2, w*x, w*x*v
};

template <class Lv>
GroupSums group_sums(const float* x, const float* w, const int8_t* L, int n, const Lv& lv) {
  float s0 = 0, s1 = 0, s2 = 0, x0 = 0, x1 = 0;
  if constexpr (Lv::kUniform) {
#pragma omp simd simdlen(4) reduction(+ : s0, s1, s2, x0, x1)
    for (int i = 0; i < n; ++i) {
      const float v = float(L[i]);
      s0 += w[i];
      s1 += w[i] * v;
      s2 += w[i] * v * v;
      x0 += w[i] * x[i];
      x1 += w[i] * x[i] * v;
    }
  } else {
    for (int i = 0; i < n; ++i) {
      const float v = lv.value(L[i]);
      s0 += w[i];
      s1 += w[i] * v;
      s2 += w[i] * v * v;
      x0 += w[i] * x[i];
      x1 += w[i] * x[i] * v;
    }
  }
  return {s0, s1, s2, x0, x1};
}

// Weighted least squares of x ~ a*u - b*t (b = 0 when !with_min), from the sums of w*u*u, w*u*t,
// w*t*t, w*x*u and w*x*t. Returns false when degenerate.
struct LeastSquares {
  double uu = 0, ut = 0, tt = 0, xu = 0, xt = 0;
  // Adds a group whose u = s*v and t = m: the group's sums scale by s and m.
  void add_group(const GroupSums& g, float s, float m) {
    uu += double(s) * s * g.s2;
    ut += double(s) * m * g.s1;
    tt += double(m) * m * g.s0;
    xu += double(s) * g.x1;
    xt += double(m) * g.x0;
  }
  bool solve(bool with_min, float& a, float& b) const {
    if (!with_min) {
      if (!(uu > 0)) return false;
      a = float(xu / uu);
      b = 0;
      return std::isfinite(a);
    }
    // Normal equations: a*uu - b*ut = xu, a*ut - b*tt = xt.
    const double det = uu * tt - ut * ut;
    if (!(det > 1e-12 * uu * tt)) return false;
    a = float((xu * tt - xt * ut) / det);
    b = float((xu * ut - xt * uu) / det);
    return std::isfinite(a) && std::isfinite(b);
  }
};

// The search state of one block: x, weights, layout, level set, and the current scales and levels.
template <class Lv>
class BlockSearch {
 public:
  BlockSearch(const float* x, const float* w, const Layout& lay, const Lv& lv) : x_(x), w_(w), lay_(lay), lv_(lv) {}

  // Sets the scales and relevels every group; returns the block error.
  float start(const Params& p) {
    p_ = p;
    err_ = relevel(p_, L_, gerr_);
    return err_;
  }

  // Runs up to `rounds` alternations of the group and block steps; returns the final error.
  float run(int rounds) {
    for (int r = 0; r < rounds; ++r) {
      bool moved = false;
      if (lay_.s_lo != lay_.s_hi) moved |= group_step();
      moved |= block_step();
      if (!moved) break;
    }
    return err_;
  }

  const Params& params() const { return p_; }
  const int8_t* levels() const { return L_; }
  float error() const { return err_; }

 private:
  float dl(const Params& p, int j) const { return fp16_to_fp32(p.d) * float(p.s[j]); }
  float ml(const Params& p, int j) const { return lay_.has_min ? fp16_to_fp32(p.dmin) * float(p.m[j]) : 0.0f; }

  float relevel(const Params& p, int8_t* L, float* gerr) const {
    float err = 0;
    for (int j = 0; j < lay_.ngroups; ++j) {
      const int o = j * lay_.gsize;
      gerr[j] = group_error(x_ + o, w_ + o, lay_.gsize, dl(p, j), ml(p, j), lv_, L + o);
      err += gerr[j];
    }
    return err;
  }

  // Refits each group's integer scale (and min) to its levels; true when some group improved.
  bool group_step() {
    const float d = fp16_to_fp32(p_.d), dm = fp16_to_fp32(p_.dmin);
    if (d == 0) return false;
    bool moved = false;
    int8_t Lc[32];
    for (int j = 0; j < lay_.ngroups; ++j) {
      const int o = j * lay_.gsize;
      LeastSquares ls;
      ls.add_group(group_sums(x_ + o, w_ + o, L_ + o, lay_.gsize, lv_), 1.0f, 1.0f);
      float a, b;
      if (!ls.solve(lay_.has_min, a, b)) continue;
      const float sr = a / d;
      const float mr = lay_.has_min && dm != 0 ? b / dm : float(p_.m[j]);
      const int s0 = std::clamp(int(std::floor(sr)), lay_.s_lo, lay_.s_hi);
      const int s1 = std::clamp(s0 + 1, lay_.s_lo, lay_.s_hi);
      const int m0 = std::clamp(int(std::floor(mr)), lay_.m_lo, lay_.m_hi);
      const int m1 = lay_.has_min ? std::clamp(m0 + 1, lay_.m_lo, lay_.m_hi) : m0;
      for (int s : {s0, s1}) {
        for (int m : {m0, m1}) {
          if (s == p_.s[j] && m == p_.m[j]) continue;
          const float e = group_error(x_ + o, w_ + o, lay_.gsize, d * float(s), lay_.has_min ? dm * float(m) : 0.0f,
                                      lv_, Lc);
          if (e < gerr_[j]) {
            err_ += e - gerr_[j];
            gerr_[j] = e;
            p_.s[j] = s;
            p_.m[j] = m;
            std::copy(Lc, Lc + lay_.gsize, L_ + o);
            moved = true;
          }
          if (m1 == m0) break;
        }
        if (s1 == s0) break;
      }
    }
    return moved;
  }

  // Refits D (and Dmin) to the integers and levels; true when the block error dropped.
  bool block_step() {
    LeastSquares ls;
    for (int j = 0; j < lay_.ngroups; ++j) {
      const int o = j * lay_.gsize;
      ls.add_group(group_sums(x_ + o, w_ + o, L_ + o, lay_.gsize, lv_), float(p_.s[j]), float(p_.m[j]));
    }
    float a, b;
    if (!ls.solve(lay_.has_min, a, b)) return false;
    const uint16_t d0 = fp32_to_fp16(a);
    const uint16_t m0 = lay_.has_min ? fp32_to_fp16(b) : p_.dmin;
    bool moved = false;
    Params best = p_;
    int8_t Lc[256];
    float gc[16];
    for (uint16_t d : {d0, f16_other_side(d0, a)}) {
      for (uint16_t m : {m0}) {
        if (d == p_.d && m == p_.dmin) continue;
        if (!std::isfinite(fp16_to_fp32(d)) || !std::isfinite(fp16_to_fp32(m))) continue;
        Params c = p_;
        c.d = d;
        c.dmin = m;
        const float e = relevel(c, Lc, gc);
        if (e < err_) {
          err_ = e;
          best = c;
          std::copy(Lc, Lc + lay_.ngroups * lay_.gsize, L_);
          std::copy(gc, gc + lay_.ngroups, gerr_);
          moved = true;
        }
      }
    }
    p_ = best;
    return moved;
  }

  const float* x_;
  const float* w_;
  Layout lay_;
  Lv lv_;
  Params p_;
  int8_t L_[256] = {};
  float gerr_[16] = {};
  float err_ = 0;
};

}  // namespace kq::refine
