// Registry-wide table-driven tests of vec_dot and of the importance (imatrix) path, every row.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "quant/registry.h"

namespace {

using kq::TypeTraits;

// Gaussian rows (mt19937_64 + Box-Muller: the same data with every standard library); every
// 128th column from 37 is an outlier column ×8 when `outliers`.
std::vector<float> gaussian(int64_t n, uint64_t seed, bool outliers) {
  std::mt19937_64 rng(seed);
  std::vector<float> x(size_t(n) + 1);
  for (size_t i = 0; i + 1 < x.size(); i += 2) {
    const double u1 = (double(rng() >> 11) + 1.0) * 0x1p-53;
    const double u2 = double(rng() >> 11) * 0x1p-53;
    const double r = std::sqrt(-2.0 * std::log(u1));
    x[i] = float(r * std::cos(6.283185307179586 * u2));
    x[i + 1] = float(r * std::sin(6.283185307179586 * u2));
  }
  x.resize(size_t(n));
  if (outliers)
    for (int64_t i = 0; i < n; ++i)
      if (i % 128 == 37) x[size_t(i)] *= 8.0f;
  return x;
}

std::vector<uint8_t> quantize(const TypeTraits& t, const float* x, int64_t n, const float* imp = nullptr) {
  std::vector<uint8_t> q(kq::row_size(t.type, n), 0xA5);
  t.from_float(x, q.data(), n, imp);
  return q;
}

std::vector<float> dequantize(const TypeTraits& t, const uint8_t* q, int64_t n) {
  std::vector<float> y(size_t(n), std::numeric_limits<float>::quiet_NaN());
  t.to_float(q, y.data(), n);
  return y;
}

// Relative error of an activation type's stored f16 block sum, which the dot product uses in
// place of Σŷ: Q8_1 keeps s = d·Σq with the unrounded f32 d, then rounds s to f16, so s differs
// from d16·Σq by up to 2^-11 (d's rounding) + 2^-11 (s's rounding). 2^-9 leaves a factor 2.
double block_sum_error(const TypeTraits& act) {
  return std::string(act.name) == "Q8_1" ? 0x1p-9 : 0.0;
}

}  // namespace

TEST_CASE("registry: vec_dot matches the dequantized dot product", "[registry]") {
  for (size_t ti = 0; ti < kq::kTypeCount; ++ti) {
    const TypeTraits& t = kq::kTypeTraits[ti];
    if (!t.vec_dot) continue;
    DYNAMIC_SECTION(t.name) {
      const TypeTraits& act = kq::type_traits(t.vec_dot_type);
      // One block, several blocks, and a longer row with outliers in the weights.
      for (int64_t n : {t.block_size * (t.block_size == 1 ? 32 : 1), int64_t(768), int64_t(4096)}) {
        for (uint64_t seed : {11u, 12u, 13u}) {
          INFO("n " << n << " seed " << seed);
          const auto x = gaussian(n, seed, true);
          const auto y = gaussian(n, seed + 100, false);
          const auto qx = quantize(t, x.data(), n);
          const auto qy = quantize(act, y.data(), n);
          const auto xd = dequantize(t, qx.data(), n);
          const auto yd = dequantize(act, qy.data(), n);
          // Reference in double on the dequantized values, which are what the kernel's integer
          // sums represent exactly.
          double ref = 0, mag = 0, sum_term = 0;
          for (int64_t b = 0; b < n; b += act.block_size) {
            double amax_x = 0, sum_y = 0;
            for (int64_t i = b; i < b + act.block_size; ++i) {
              ref += double(xd[size_t(i)]) * yd[size_t(i)];
              mag += std::fabs(double(xd[size_t(i)]) * yd[size_t(i)]);
              amax_x = std::max(amax_x, std::fabs(double(xd[size_t(i)])));
              sum_y += yd[size_t(i)];
            }
            // A weight block's offset m (|m| ≤ its largest |x̂|: the min maps to level 0)
            // multiplies the stored sum.
            sum_term += amax_x * std::fabs(sum_y);
          }
          // 1e-5·Σ|x̂ŷ|: the kernel applies f32 scales per block and accumulates in f32, while
          // the dequantized values carry their own f32 rounding of d·sc·q − dmin·m (a few ulps,
          // 6e-8 each); summed over ≤ 4096 terms in random order that stays far below 1e-5.
          const double tol = 1e-5 * mag + block_sum_error(act) * sum_term;
          const double got = t.vec_dot(n, qx.data(), qy.data());
          INFO("vec_dot " << got << " reference " << ref << " tolerance " << tol);
          REQUIRE(std::isfinite(got));
          REQUIRE(std::fabs(got - ref) <= tol);
        }
      }
    }
  }
}

TEST_CASE("registry: vec_dot of an all-zero row is exactly zero", "[registry]") {
  // Zero rows get a zero scale (Q8_K: d = 0 with bsums the reference leaves unwritten), which must
  // give 0, not NaN from 0·inf or garbage sums.
  for (size_t ti = 0; ti < kq::kTypeCount; ++ti) {
    const TypeTraits& t = kq::kTypeTraits[ti];
    if (!t.vec_dot) continue;
    DYNAMIC_SECTION(t.name) {
      const TypeTraits& act = kq::type_traits(t.vec_dot_type);
      const int64_t n = 512;
      const std::vector<float> zero(size_t(n), 0.0f);
      const auto x = gaussian(n, 21, true);
      const auto y = gaussian(n, 22, false);
      REQUIRE(t.vec_dot(n, quantize(t, x.data(), n).data(), quantize(act, zero.data(), n).data()) == 0.0f);
      REQUIRE(t.vec_dot(n, quantize(t, zero.data(), n).data(), quantize(act, y.data(), n).data()) == 0.0f);
    }
  }
}

TEST_CASE("registry: importance weights lower the weighted error", "[registry]") {
  constexpr int64_t kLen = 1024;
  constexpr int kRowCount = 16;
  for (size_t ti = 0; ti < kq::kTypeCount; ++ti) {
    const TypeTraits& t = kq::kTypeTraits[ti];
    // Float types store every value; activation types are never weights.
    if (!t.is_quantized || t.activation_only) continue;
    DYNAMIC_SECTION(t.name) {
      // Log-normal importance (σ = 1.5): positive, spanning ~2 decades, like real imatrix data.
      std::vector<float> qw = gaussian(kLen, 99, false);
      for (float& w : qw) w = std::exp(1.5f * w);
      double err_imp = 0, err_ref = 0;
      bool identical = true;
      for (int r = 0; r < kRowCount; ++r) {
        const auto x = gaussian(kLen, 200 + uint64_t(r), true);
        const auto q_ref = quantize(t, x.data(), kLen);
        const auto q_imp = quantize(t, x.data(), kLen, qw.data());
        identical = identical && q_ref == q_imp;
        const auto y_ref = dequantize(t, q_ref.data(), kLen);
        const auto y_imp = dequantize(t, q_imp.data(), kLen);
        for (int64_t i = 0; i < kLen; ++i) {
          REQUIRE(std::isfinite(y_imp[size_t(i)]));
          err_ref += qw[size_t(i)] * std::pow(double(x[size_t(i)]) - y_ref[size_t(i)], 2);
          err_imp += qw[size_t(i)] * std::pow(double(x[size_t(i)]) - y_imp[size_t(i)], 2);
        }
      }
      INFO("weighted error with importance " << err_imp << ", without " << err_ref);
      if (std::string(t.name) == "Q8_0") {
        // formats.md C.1: Q8_0's quantizer ignores the imatrix (llama.cpp does too), so the
        // bytes must not change; there is nothing to improve.
        REQUIRE(identical);
      } else {
        // Summed over 16 rows: a single row can tie or lose slightly where the searches land on
        // the same grid; the average cannot, if the importance reaches the search at all.
        REQUIRE(err_imp < err_ref);
      }
    }
  }
}
