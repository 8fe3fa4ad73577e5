// F32 / F16 / BF16 weights against f32 activations: every ISA level's vec_dot, mul_rows and prefill
// GEMM against the double-precision direct formula Σ widen(w)·a with derived bounds; the x86
// levels bit for bit against the 16-lane f32 FMA arithmetic they share, so prefill equals decode.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "common/fp16.h"
#include "quant/kernels.h"
#include "quant/registry.h"

namespace kq {
namespace {

constexpr double kU = 0x1p-24;  // unit roundoff of f32

struct Shape {
  int rows, toks;
  int64_t k;
};

// Rows of weights stored in type t (widened copies in wf), activations in f32, with padded strides
// so that a kernel reading or writing past a row shows up.
struct FloatProblem {
  QType type;
  Shape s;
  size_t w_stride, a_stride, ldy;
  std::vector<uint8_t> w, act;
  std::vector<float> wf, af;  // widened weights, activations (dense, k per row)

  FloatProblem(QType t, Shape shape, std::mt19937_64& gen) : type(t), s(shape) {
    const size_t elem = t == QType::F32 ? 4 : 2;
    w_stride = size_t(s.k) * elem + 64;
    a_stride = size_t(s.k) * 4 + 32;
    ldy = size_t(s.rows) + 3;
    w.assign(w_stride * size_t(s.rows), 0xA5);
    act.assign(a_stride * size_t(s.toks), 0x5A);
    wf.resize(size_t(s.rows) * size_t(s.k));
    af.resize(size_t(s.toks) * size_t(s.k));
    std::normal_distribution<float> dist(0.0f, 1.0f);
    for (int r = 0; r < s.rows; ++r) {
      for (int64_t i = 0; i < s.k; ++i) {
        float x = dist(gen) * (i % 61 == 7 ? 40.0f : 1.0f);
        if (i % 53 == 3) x = 0.0f;
        uint8_t* dst = w.data() + size_t(r) * w_stride + size_t(i) * elem;
        if (t == QType::F32) {
          std::memcpy(dst, &x, 4);
        } else {
          const uint16_t h = t == QType::F16 ? fp32_to_fp16(x) : fp32_to_bf16(x);
          std::memcpy(dst, &h, 2);
          x = t == QType::F16 ? fp16_to_fp32(h) : bf16_to_fp32(h);
        }
        wf[size_t(r) * size_t(s.k) + size_t(i)] = x;
      }
    }
    for (int tok = 0; tok < s.toks; ++tok) {
      for (int64_t i = 0; i < s.k; ++i) {
        // Activations with bits below F16 / BF16 precision, so narrowing them would show.
        const float x = dist(gen) * (i % 37 == 5 ? 25.0f : 1.0f) * (1.0f + 0x1p-20f);
        af[size_t(tok) * size_t(s.k) + size_t(i)] = x;
        std::memcpy(act.data() + size_t(tok) * a_stride + size_t(i) * 4, &x, 4);
      }
    }
  }
  const float* wrow(int r) const { return wf.data() + size_t(r) * size_t(s.k); }
  const float* arow(int t) const { return af.data() + size_t(t) * size_t(s.k); }
  MatmulTile tile(float* y, uint8_t* scratch) const {
    MatmulTile m;
    m.k = s.k;
    m.w = w.data();
    m.w_stride = w_stride;
    m.n_rows = s.rows;
    m.act = act.data();
    m.act_stride = a_stride;
    m.n_tok = s.toks;
    m.y = y;
    m.ldy = ldy;
    m.scratch = scratch;
    return m;
  }
};

// Exact sum (in double: each product of a ≤24-bit and a ≤24-bit significand is exact, and the
// sum's own rounding is far below the bounds) and Σ|product|.
void exact_dot(const float* w, const float* a, int64_t k, double& sum, double& mag) {
  sum = mag = 0;
  for (int64_t i = 0; i < k; ++i) {
    sum += double(w[i]) * double(a[i]);
    mag += std::fabs(double(w[i]) * double(a[i]));
  }
}

// The x86 kernels' shared arithmetic: 16 f32 lanes, lane j = fma chain over elements j, j+16, ...
// (a partial last chunk padded with zero products), then the fixed tree of quant/simd_avx512.h's hsum.
float lane16(const float* w, const float* a, int64_t k) {
  float l[16] = {};
  const int64_t padded = (k + 15) / 16 * 16;
  for (int64_t i = 0; i < padded; ++i) l[i % 16] = i < k ? std::fma(w[i], a[i], l[i % 16]) : std::fma(0.0f, 0.0f, l[i % 16]);
  float h[8], q[4];
  for (int j = 0; j < 8; ++j) h[j] = l[j] + l[j + 8];
  for (int j = 0; j < 4; ++j) q[j] = h[j] + h[j + 4];
  return (q[0] + q[2]) + (q[1] + q[3]);
}

// Bound of lane16: each lane's chain of at most ceil(k/16) FMAs rounds once per step, then four
// tree levels: |error| <= γ_n · Σ|p| with n = ceil(k/16) + 4, γ_n = n·u / (1 - n·u).
double lane16_bound(int64_t k, double mag) {
  const double n = double((k + 15) / 16 + 4);
  return n * kU / (1.0 - n * kU) * mag;
}

bool is_x86_simd(Isa isa) { return isa == Isa::kAvx2 || isa == Isa::kAvx512; }

// Bound of the scalar reference and NEON (each product rounded to f32, summed in double, the sum
// rounded to f32 once): u·Σ|p| for the products, u·|sum| for the final rounding, plus the double sum.
double double_sum_bound(int64_t k, double sum, double mag) {
  return kU * mag + kU * std::fabs(sum) + double(k) * 0x1p-53 * mag;
}

std::vector<Isa> levels() {
  std::vector<Isa> out;
  for (Isa i : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kNeon})
    if (kernel_table(i)) out.push_back(i);
  return out;
}

const Shape kShapes[] = {{1, 1, 1},     {3, 2, 7},     {5, 3, 17},     {16, 6, 16},   {31, 7, 300},
                         {33, 13, 1100}, {64, 8, 512}, {70, 19, 1030}, {17, 9, 2048}, {40, 12, 513}};

TEST_CASE("float weights: vec_dot and mul_rows of every level within the derived bound of the exact dot",
          "[kernels][float]") {
  std::mt19937_64 gen(41);
  for (QType type : {QType::F32, QType::F16, QType::BF16}) {
    REQUIRE(type_traits(type).vec_dot_type == QType::F32);  // activations stay f32
    for (const Shape& s : kShapes) {
      const FloatProblem p(type, s, gen);
      for (Isa isa : levels()) {
        const TypeKernels& k = (*kernel_table(isa))[type];
        INFO(type_name(type) << " " << isa_name(isa) << " rows=" << s.rows << " toks=" << s.toks << " k=" << s.k);
        std::vector<float> y(p.ldy * size_t(s.toks), std::numeric_limits<float>::quiet_NaN());
        MatmulTile tile = p.tile(y.data(), nullptr);
        if (k.mul_rows) k.mul_rows(tile);
        else mul_rows_by_vec_dot(k.vec_dot, tile);
        for (int t = 0; t < s.toks; ++t) {
          for (int r = 0; r < s.rows; ++r) {
            double sum, mag;
            exact_dot(p.wrow(r), p.arow(t), s.k, sum, mag);
            const float got = y[size_t(t) * p.ldy + size_t(r)];
            const float dot = k.vec_dot(s.k, p.w.data() + size_t(r) * p.w_stride, p.act.data() + size_t(t) * p.a_stride);
            if (is_x86_simd(isa)) {
              REQUIRE(dot == lane16(p.wrow(r), p.arow(t), s.k));
              REQUIRE(std::fabs(double(dot) - sum) <= lane16_bound(s.k, mag));
            } else {
              REQUIRE(std::fabs(double(dot) - sum) <= double_sum_bound(s.k, sum, mag));
            }
            REQUIRE(got == dot);  // mul_rows does per (row, token) what vec_dot does
          }
          for (size_t r = size_t(s.rows); r < p.ldy && size_t(t) * p.ldy + r < y.size(); ++r)
            REQUIRE(std::isnan(y[size_t(t) * p.ldy + r]));
        }
      }
    }
  }
}

TEST_CASE("float weights: prefill GEMM equals vec_dot bit for bit, within the derived bound of the exact dot",
          "[kernels][float][gemm]") {
  std::mt19937_64 gen(42);
  int checked = 0;
  for (QType type : {QType::F32, QType::F16, QType::BF16}) {
    for (const Shape& s : kShapes) {
      const FloatProblem p(type, s, gen);
      for (Isa isa : levels()) {
        const TypeKernels& k = (*kernel_table(isa))[type];
        if (!k.gemm) continue;
        INFO(type_name(type) << " " << isa_name(isa) << " (" << k.gemm_name << ") rows=" << s.rows
                             << " toks=" << s.toks << " k=" << s.k);
        std::vector<uint8_t> scratch(k.gemm_scratch ? k.gemm_scratch(s.k) + 64 : 0);
        uint8_t* sp = scratch.empty() ? nullptr
                                      : reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(scratch.data()) + 63) & ~uintptr_t(63));
        std::vector<float> y(p.ldy * size_t(s.toks), std::numeric_limits<float>::quiet_NaN());
        k.gemm(p.tile(y.data(), sp));
        for (int t = 0; t < s.toks; ++t) {
          for (int r = 0; r < s.rows; ++r) {
            double sum, mag;
            exact_dot(p.wrow(r), p.arow(t), s.k, sum, mag);
            const float got = y[size_t(t) * p.ldy + size_t(r)];
            const float dot = k.vec_dot(s.k, p.w.data() + size_t(r) * p.w_stride, p.act.data() + size_t(t) * p.a_stride);
            REQUIRE(got == dot);  // prefill and decode agree, so cutting a batch changes nothing
            REQUIRE(std::fabs(double(got) - sum) <= lane16_bound(s.k, mag));
          }
          for (size_t r = size_t(s.rows); r < p.ldy && size_t(t) * p.ldy + r < y.size(); ++r)
            REQUIRE(std::isnan(y[size_t(t) * p.ldy + r]));
        }
        ++checked;
      }
    }
  }
#if defined(__x86_64__)
  if (kernel_table(Isa::kAvx512)) CHECK(checked > 0);
#endif
}

}  // namespace
}  // namespace kq
