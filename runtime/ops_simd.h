// xsimd bodies of the element-wise ops, instantiated per ISA by ops.cpp, ops_avx2.cpp and ops_avx512.cpp.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <xsimd/xsimd.hpp>

#include "runtime/ops_kernels.h"

namespace kq {
// Internal linkage: each ISA's file keeps its own copies, so no body built with -mavx512f can be
// picked by the linker for a caller on a lesser CPU.
namespace {

template <class A>
using FloatBatch = xsimd::batch<float, A>;

// Compensated (Kahan) float accumulation per lane: error ~2 ulp of the total regardless of the
// count, which keeps the vector sums as close to ggml's double sums as a float mean can show.
template <class A>
inline void kahan_add(FloatBatch<A>& sum, FloatBatch<A>& comp, const FloatBatch<A>& v) {
  const FloatBatch<A> y = v - comp;
  const FloatBatch<A> t = sum + y;
  comp = (t - sum) - y;
  sum = t;
}

// Σ over lanes of (sum − comp), in double.
template <class A>
inline double kahan_total(const FloatBatch<A>& sum, const FloatBatch<A>& comp) {
  alignas(64) float s[FloatBatch<A>::size], c[FloatBatch<A>::size];
  sum.store_aligned(s);
  comp.store_aligned(c);
  double total = 0.0;
  for (size_t l = 0; l < FloatBatch<A>::size; ++l) total += double(s[l]) - double(c[l]);
  return total;
}

template <class A>
void rmsnorm_simd(const float* x, const float* w, float* out, int n, float eps) {
  using B = FloatBatch<A>;
  constexpr int L = int(B::size);
  B s0(0.0f), c0(0.0f), s1(0.0f), c1(0.0f);
  int i = 0;
  for (; i + 2 * L <= n; i += 2 * L) {
    const B a = B::load_unaligned(x + i), b = B::load_unaligned(x + i + L);
    kahan_add<A>(s0, c0, a * a);
    kahan_add<A>(s1, c1, b * b);
  }
  for (; i + L <= n; i += L) {
    const B a = B::load_unaligned(x + i);
    kahan_add<A>(s0, c0, a * a);
  }
  double sum = kahan_total<A>(s0, c0) + kahan_total<A>(s1, c1);
  for (; i < n; ++i) sum += double(x[i] * x[i]);
  // As ggml: the mean is cast to float before the square root; then (x·s)·w, two roundings.
  const float mean = float(sum / n);
  const float scale = 1.0f / std::sqrt(mean + eps);
  const B sc(scale);
  i = 0;
  for (; i + L <= n; i += L) ((B::load_unaligned(x + i) * sc) * B::load_unaligned(w + i)).store_unaligned(out + i);
  for (; i < n; ++i) out[i] = (x[i] * scale) * w[i];
}

// Swaps neighbours (0↔1, 2↔3, ...): the partner of each element in a NORM rotary pair.
struct PairSwap {
  static constexpr uint32_t get(uint32_t i, uint32_t) { return i ^ 1u; }
};

constexpr int kMaxSimdRot = 1024;  // wider rotary parts (none known) take the scalar path

template <class A>
void rope_apply_simd(float* x, int n_heads, int head_dim, const RopeParams& p, const float* cs) {
  using B = FloatBatch<A>;
  constexpr int L = int(B::size);
  const int n_rot = p.n_rot, half = p.n_rot / 2;
  if (n_rot > kMaxSimdRot) {
    rope_apply_reference(x, n_heads, head_dim, p, cs);
    return;
  }
  // Each output is a·c ∓ b·s with both products rounded, exactly as the scalar form (no FMA).
  alignas(64) float cw[kMaxSimdRot], sw[kMaxSimdRot];
  if (p.type == RopeType::kNorm) {
    // out = v·[c0 c0 c1 c1 ..] + swap(v)·[−s0 s0 −s1 s1 ..]
    const int padded = (n_rot + L - 1) / L * L;
    for (int i = 0; i < padded; ++i) {
      cw[i] = i < n_rot ? cs[2 * (i / 2)] : 0.0f;
      sw[i] = i >= n_rot ? 0.0f : (i & 1) ? cs[2 * (i / 2) + 1] : -cs[2 * (i / 2) + 1];
    }
    const auto swap = xsimd::make_batch_constant<xsimd::batch<uint32_t, A>, PairSwap>();
    const int tail = n_rot % L;
    for (int h = 0; h < n_heads; ++h) {
      float* v = x + size_t(h) * size_t(head_dim);
      int i = 0;
      for (; i + L <= n_rot; i += L) {
        const B a = B::load_unaligned(v + i);
        (a * B::load_aligned(cw + i) + xsimd::swizzle(a, swap) * B::load_aligned(sw + i)).store_unaligned(v + i);
      }
      if (tail) {
        // The ragged end goes through the same vector code on a zero-padded copy: a scalar loop
        // here gets SLP-vectorized into vfmaddsub by GCC 12 even with -ffp-contract=off.
        alignas(64) float t[L] = {};
        for (int j = 0; j < tail; ++j) t[j] = v[i + j];
        const B a = B::load_aligned(t);
        (a * B::load_aligned(cw + i) + xsimd::swizzle(a, swap) * B::load_aligned(sw + i)).store_aligned(t);
        for (int j = 0; j < tail; ++j) v[i + j] = t[j];
      }
    }
    return;
  }
  // NEOX: dim i pairs with dim i + n_rot/2.
  for (int i = 0; i < half; ++i) {
    cw[i] = cs[2 * i];
    sw[i] = cs[2 * i + 1];
  }
  for (int h = 0; h < n_heads; ++h) {
    float* v = x + size_t(h) * size_t(head_dim);
    int i = 0;
    for (; i + L <= half; i += L) {
      const B a = B::load_unaligned(v + i), b = B::load_unaligned(v + i + half);
      const B c = B::load_aligned(cw + i), s = B::load_aligned(sw + i);
      (a * c - b * s).store_unaligned(v + i);
      (a * s + b * c).store_unaligned(v + i + half);
    }
    for (; i < half; ++i) {
      const float a = v[i], b = v[i + half], c = cw[i], s = sw[i];
      v[i] = a * c - b * s;
      v[i + half] = a * s + b * c;
    }
  }
}

template <class A>
void softmax_simd(float* x, int n) {
  using B = FloatBatch<A>;
  constexpr int L = int(B::size);
  float max = x[0];
  int i = 0;
  if (n >= L) {
    B m = B::load_unaligned(x);
    for (i = L; i + L <= n; i += L) m = xsimd::max(m, B::load_unaligned(x + i));
    alignas(64) float lanes[L];
    m.store_aligned(lanes);
    for (int l = 0; l < L; ++l) max = lanes[l] > max ? lanes[l] : max;
  }
  for (; i < n; ++i) max = x[i] > max ? x[i] : max;
  const B mb(max);
  B s(0.0f), c(0.0f);
  for (i = 0; i + L <= n; i += L) {
    const B e = xsimd::exp(B::load_unaligned(x + i) - mb);
    e.store_unaligned(x + i);
    kahan_add<A>(s, c, e);
  }
  double sum = kahan_total<A>(s, c);
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += double(x[i]);
  }
  const B inv(float(1.0 / sum));
  for (i = 0; i + L <= n; i += L) (B::load_unaligned(x + i) * inv).store_unaligned(x + i);
  for (; i < n; ++i) x[i] *= float(1.0 / sum);
}

template <class A>
void silu_mul_simd(float* gate, const float* up, int n) {
  using B = FloatBatch<A>;
  constexpr int L = int(B::size);
  const B one(1.0f);
  int i = 0;
  for (; i + L <= n; i += L) {
    const B g = B::load_unaligned(gate + i);
    ((g / (one + xsimd::exp(-g))) * B::load_unaligned(up + i)).store_unaligned(gate + i);
  }
  for (; i < n; ++i) gate[i] = (gate[i] / (1.0f + std::exp(-gate[i]))) * up[i];
}

template <class A>
void add_simd(float* x, const float* y, int n) {
  using B = FloatBatch<A>;
  constexpr int L = int(B::size);
  int i = 0;
  for (; i + L <= n; i += L) (B::load_unaligned(x + i) + B::load_unaligned(y + i)).store_unaligned(x + i);
  for (; i < n; ++i) x[i] += y[i];
}

template <class A>
void scale_simd(float* x, int n, float s) {
  using B = FloatBatch<A>;
  constexpr int L = int(B::size);
  const B sb(s);
  int i = 0;
  for (; i + L <= n; i += L) (B::load_unaligned(x + i) * sb).store_unaligned(x + i);
  for (; i < n; ++i) x[i] *= s;
}

template <class A>
void axpy_simd(float* y, float a, const float* x, int n) {
  using B = FloatBatch<A>;
  constexpr int L = int(B::size);
  const B ab(a);
  int i = 0;
  for (; i + L <= n; i += L) xsimd::fma(ab, B::load_unaligned(x + i), B::load_unaligned(y + i)).store_unaligned(y + i);
  for (; i < n; ++i) y[i] += a * x[i];
}

// y += Σ_j p[j]·rows[j]: per element the same fma sequence over j as repeated axpy calls, with a
// block of y held in registers across the rows instead of reloaded per row.
template <class A>
void accumulate_rows_simd(float* y, const float* p, const float* rows, int n_rows, int n) {
  using B = FloatBatch<A>;
  constexpr int L = int(B::size);
  int i = 0;
  for (; i + 4 * L <= n; i += 4 * L) {
    B a0 = B::load_unaligned(y + i), a1 = B::load_unaligned(y + i + L);
    B a2 = B::load_unaligned(y + i + 2 * L), a3 = B::load_unaligned(y + i + 3 * L);
    for (int j = 0; j < n_rows; ++j) {
      const float* r = rows + size_t(j) * size_t(n) + i;
      const B pj(p[j]);
      a0 = xsimd::fma(pj, B::load_unaligned(r), a0);
      a1 = xsimd::fma(pj, B::load_unaligned(r + L), a1);
      a2 = xsimd::fma(pj, B::load_unaligned(r + 2 * L), a2);
      a3 = xsimd::fma(pj, B::load_unaligned(r + 3 * L), a3);
    }
    a0.store_unaligned(y + i);
    a1.store_unaligned(y + i + L);
    a2.store_unaligned(y + i + 2 * L);
    a3.store_unaligned(y + i + 3 * L);
  }
  for (; i + L <= n; i += L) {
    B a = B::load_unaligned(y + i);
    for (int j = 0; j < n_rows; ++j) a = xsimd::fma(B(p[j]), B::load_unaligned(rows + size_t(j) * size_t(n) + i), a);
    a.store_unaligned(y + i);
  }
  for (; i < n; ++i)
    for (int j = 0; j < n_rows; ++j) y[i] += p[j] * rows[size_t(j) * size_t(n) + size_t(i)];
}

template <class A>
OpsKernels make_ops_kernels(const char* name) {
  return OpsKernels{rmsnorm_simd<A>, rope_apply_simd<A>, softmax_simd<A>,           silu_mul_simd<A>, add_simd<A>,
                    scale_simd<A>,   axpy_simd<A>,       accumulate_rows_simd<A>, name};
}

}  // namespace
}  // namespace kq
