// Registry-wide table-driven tests: every kTypeTraits row against an independent spec and error model.
//
// Nothing here names a block layout: each property runs over every registry row, so a new type
// only needs its line in kSpecs (the B.1 facts and the error model below), never new test code.
#include "quant/registry.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"

namespace {

using kq::QType;
using kq::TypeTraits;

// How the reconstruction error of a type scales with its data.
//   Sym:  step = amax/levels over each sub-block (symmetric grids, absmax scale);
//   Asym: step = (max(max,0) - min(min,0))/levels (a scale plus a min);
//   Float: every value is rounded with unit roundoff `levels`; Exact: no error at all.
// A round-to-nearest quantizer with step Δ leaves an error uniform in ±Δ/2, RMS Δ/√12, so the
// predicted error of a row is sqrt(Σ_subblocks sub·Δ²/12). Measured on synth-tiny-f32 (the
// testdata, same N(0,1)-with-outlier-columns shape as the rows below), llama.cpp's own
// quantizers reach 0.97–1.00 of this prediction for the legacy types and Q8, 0.87–0.96 for the
// k-quants (their scale search beats plain rounding) and, with kIq4Levels, ~0.98 for IQ4.
// kMargin = 1.15 leaves room for sampling noise only: a quantizer that loses a bit, or a
// mis-packed scale, lands far above it.
enum class Step { Exact, Float, Sym, Asym };
constexpr double kMargin = 1.15;

struct Spec {
  const char* name;
  uint32_t id;
  int64_t block;  // elements per block (formats.md B.1)
  size_t bytes;   // bytes per block (B.1)
  double bpw;     // bits per weight (B.1)
  bool act_only;  // Q8_1 / Q8_K are activation types (B.6), Q8_0H kq's internal one
  Step step;
  int64_t sub;    // elements sharing one step
  double levels;  // see Step
  // dequant(quant(dequant(q))) reproduces dequant(q). True where the quantizer's scale is a pure
  // function of the block extremes (legacy types, Q8_*): a grid point maps back to itself and the
  // recomputed f16 scale rounds to the same value. The k-quants and IQ4 run a scale search whose
  // candidates need not include the old grid, so for them only the error bound is re-checked.
  bool idempotent;
};

// kIq4Levels: kvalues span −127..113 in units of d = amax/127, 15 gaps averaging 16 (a uniform
// 8-level grid), but the gaps are 11–13 near zero where a bell curve puts its mass, so the grid
// acts like ~10 levels; llama.cpp's IQ4_NL/IQ4_XS reach 0.79–0.81 of the 8-level prediction.
// clang-format off
constexpr Spec kSpecs[] = {
  // name     id  block bytes bpw     act    step         sub  levels    idempotent
  {"F32",     0,  1,    4,    32,     false, Step::Exact, 1,   0,        true},
  {"F16",     1,  1,    2,    16,     false, Step::Float, 1,   0x1p-11,  true},
  {"Q4_0",    2,  32,   18,   4.5,    false, Step::Sym,   32,  8,        true},
  {"Q4_1",    3,  32,   20,   5.0,    false, Step::Asym,  32,  15,       true},
  {"Q5_0",    6,  32,   22,   5.5,    false, Step::Sym,   32,  16,       true},
  {"Q5_1",    7,  32,   24,   6.0,    false, Step::Asym,  32,  31,       true},
  {"Q8_0",    8,  32,   34,   8.5,    false, Step::Sym,   32,  127,      true},
  {"Q8_1",    9,  32,   36,   9.0,    true,  Step::Sym,   32,  127,      true},
  {"Q2_K",    10, 256,  84,   2.625,  false, Step::Asym,  16,  3,        false},
  {"Q3_K",    11, 256,  110,  3.4375, false, Step::Sym,   16,  4,        false},
  {"Q4_K",    12, 256,  144,  4.5,    false, Step::Asym,  32,  15,       false},
  {"Q5_K",    13, 256,  176,  5.5,    false, Step::Asym,  32,  31,       false},
  {"Q6_K",    14, 256,  210,  6.5625, false, Step::Sym,   16,  32,       false},
  {"Q8_K",    15, 256,  292,  9.125,  true,  Step::Sym,   256, 127,      true},
  {"IQ4_NL",  20, 32,   18,   4.5,    false, Step::Sym,   32,  10,       false},  // see kIq4Levels
  {"IQ4_XS",  23, 256,  136,  4.25,   false, Step::Sym,   32,  10,       false},
  {"BF16",    30, 1,    2,    16,     false, Step::Float, 1,   0x1p-8,   true},
  {"Q8_0H",   63, 32,   36,   9.0,    true,  Step::Sym,   16,  127,      true},  // kq-internal
};
// clang-format on

const Spec* spec_for(const TypeTraits& t) {
  for (const Spec& s : kSpecs)
    if (std::string(s.name) == t.name) return &s;
  return nullptr;
}

constexpr int64_t kN = 1024;  // row length: a multiple of every block size (256 at most)
constexpr int kRows = 8;

// Gaussian rows from mt19937_64 + Box-Muller, so the data is the same with every standard
// library (std::normal_distribution is implementation-defined). Every 128th column (from 37) is
// an outlier column ×8, the shape of the synth-tiny weights.
std::vector<float> gaussian_rows(int rows, int64_t n, uint64_t seed, bool outliers = true) {
  std::mt19937_64 rng(seed);
  const double two_pi = 6.283185307179586;
  std::vector<float> x(size_t(rows) * size_t(n));
  for (size_t i = 0; i < x.size(); i += 2) {
    const double u1 = (double(rng() >> 11) + 1.0) * 0x1p-53;  // (0, 1]: log is finite
    const double u2 = double(rng() >> 11) * 0x1p-53;
    const double r = std::sqrt(-2.0 * std::log(u1));
    x[i] = float(r * std::cos(two_pi * u2));
    if (i + 1 < x.size()) x[i + 1] = float(r * std::sin(two_pi * u2));
  }
  if (outliers)
    for (size_t i = 0; i < x.size(); ++i)
      if (int64_t(i) % n % 128 == 37) x[i] *= 8.0f;
  return x;
}

std::vector<uint8_t> quantize(const TypeTraits& t, const float* x, int64_t n, const float* imp = nullptr) {
  // 0xA5 fill: a quantizer that leaves bytes unwritten produces visible garbage, not zeros.
  std::vector<uint8_t> q(kq::row_size(t.type, n), 0xA5);
  t.from_float(x, q.data(), n, imp);
  return q;
}

std::vector<float> dequantize(const TypeTraits& t, const uint8_t* q, int64_t n) {
  // NaN fill: an output element that is never written fails the finiteness checks.
  std::vector<float> y(size_t(n), std::numeric_limits<float>::quiet_NaN());
  t.to_float(q, y.data(), n);
  return y;
}

std::vector<float> round_trip(const TypeTraits& t, const float* x, int64_t n) {
  const auto q = quantize(t, x, n);
  return dequantize(t, q.data(), n);
}

bool all_finite(const std::vector<float>& v) {
  for (float f : v)
    if (!std::isfinite(f)) return false;
  return true;
}

// Returns the predicted error norm sqrt(Σ e²) of one row under the spec's error model.
double predicted_error(const Spec& s, const float* x, int64_t n) {
  double e2 = 0;
  for (int64_t b = 0; b < n; b += s.sub) {
    double amax = 0, mx = 0, mn = 0;
    for (int64_t i = b; i < b + s.sub; ++i) {
      amax = std::max(amax, std::fabs(double(x[i])));
      mx = std::max(mx, double(x[i]));
      mn = std::min(mn, double(x[i]));
    }
    switch (s.step) {
      case Step::Exact:
        break;
      // |x̂ − x| ≤ u·|x| for every value in the normal range: a hard bound, not an average.
      case Step::Float:
        for (int64_t i = b; i < b + s.sub; ++i) e2 += double(x[i]) * x[i] * s.levels * s.levels;
        break;
      case Step::Sym:
        e2 += double(s.sub) * std::pow(amax / s.levels, 2) / 12.0;
        break;
      case Step::Asym:
        e2 += double(s.sub) * std::pow((mx - mn) / s.levels, 2) / 12.0;
        break;
    }
  }
  const double margin = s.step == Step::Float ? 1.0 : kMargin;
  return margin * std::sqrt(e2);
}

double error_norm(const float* x, const float* y, int64_t n) {
  double e2 = 0;
  for (int64_t i = 0; i < n; ++i) e2 += std::pow(double(x[i]) - double(y[i]), 2);
  return std::sqrt(e2);
}

// Runs body(traits, spec) once per registry row, each in its own section named after the type,
// so one stubbed or broken type fails alone and the report names it.
template <class Body>
void for_each_type(Body body) {
  for (size_t i = 0; i < kq::kTypeCount; ++i) {
    const TypeTraits& t = kq::kTypeTraits[i];
    DYNAMIC_SECTION(t.name) {
      const Spec* s = spec_for(t);
      REQUIRE(s != nullptr);  // a new registry row needs its line in kSpecs
      body(t, *s);
    }
  }
}

}  // namespace

TEST_CASE("registry: rows in QType order agree with formats.md B.1", "[registry]") {
  REQUIRE(kq::kTypeCount == std::size(kSpecs));
  for (size_t i = 0; i < kq::kTypeCount; ++i) {
    const TypeTraits& t = kq::kTypeTraits[i];
    INFO("row " << i << " " << t.name);
    if (i > 0) REQUIRE(uint32_t(kq::kTypeTraits[i - 1].type) < uint32_t(t.type));
    const Spec* s = spec_for(t);
    REQUIRE(s != nullptr);
    CHECK(uint32_t(t.type) == s->id);
    CHECK(t.block_size == s->block);
    CHECK(t.type_size == s->bytes);
    CHECK(8.0 * double(t.type_size) / double(t.block_size) == s->bpw);
    CHECK(t.is_quantized == (s->block > 1));
    CHECK(t.activation_only == s->act_only);
    CHECK(t.to_float != nullptr);
    CHECK(t.from_float != nullptr);
    // Every weight type can take part in a matmul; activation-only types need no dot of their own.
    if (!t.activation_only) CHECK(t.vec_dot != nullptr);
    // The activation type must tile any row the weight type can hold.
    const TypeTraits& vdt = kq::type_traits(t.vec_dot_type);
    CHECK(t.block_size % vdt.block_size == 0);
    // kq-internal types are activation-only (never in a file) and only they use internal ids.
    if (uint32_t(t.type) >= kq::kFirstInternalTypeId) CHECK(t.activation_only);
  }
}

TEST_CASE("registry: find_type by id and by name", "[registry]") {
  for (size_t i = 0; i < kq::kTypeCount; ++i) {
    const TypeTraits& t = kq::kTypeTraits[i];
    INFO(t.name);
    REQUIRE(&kq::type_traits(t.type) == &t);
    REQUIRE(std::string(kq::type_name(t.type)) == t.name);
    if (uint32_t(t.type) >= kq::kFirstInternalTypeId) {
      // Internal types are unknown to a file's type id and to a type name on the command line.
      REQUIRE(kq::find_type(uint32_t(t.type)) == nullptr);
      REQUIRE(kq::find_type(std::string_view(t.name)) == nullptr);
      continue;
    }
    REQUIRE(kq::find_type(uint32_t(t.type)) == &t);
    REQUIRE(kq::find_type(std::string_view(t.name)) == &t);
    std::string lower = t.name, mixed = t.name;
    for (size_t k = 0; k < lower.size(); ++k) {
      lower[k] = char(std::tolower(static_cast<unsigned char>(lower[k])));
      if (k % 2) mixed[k] = lower[k];
    }
    REQUIRE(kq::find_type(std::string_view(lower)) == &t);
    REQUIRE(kq::find_type(std::string_view(mixed)) == &t);
  }
  // Retired ids (4, 5, 31), types kq does not implement (16 IQ2_XXS, 28 F64, 39 MXFP4), out of range.
  for (uint32_t id : {4u, 5u, 16u, 19u, 24u, 28u, 31u, 39u, 63u, 64u, 255u, 0x80000000u, 0xFFFFFFFFu}) {
    INFO("id " << id);
    REQUIRE(kq::find_type(id) == nullptr);
  }
  REQUIRE_THROWS_AS(kq::type_traits(static_cast<QType>(4)), kq::Error);
  for (const char* name : {"", "Q4", "Q4_0 ", " Q4_0", "Q4_00", "Q4-0", "IQ2_XXS", "F64", "Q8_K_"}) {
    INFO("name '" << name << "'");
    REQUIRE(kq::find_type(std::string_view(name)) == nullptr);
  }
}

TEST_CASE("registry: row_size", "[registry]") {
  for (size_t i = 0; i < kq::kTypeCount; ++i) {
    const TypeTraits& t = kq::kTypeTraits[i];
    INFO(t.name);
    REQUIRE(kq::row_size(t.type, 0) == 0);
    for (int64_t k : {1, 2, 7, 64, 4096}) REQUIRE(kq::row_size(t.type, k * t.block_size) == size_t(k) * t.type_size);
    REQUIRE_THROWS_AS(kq::row_size(t.type, -t.block_size), kq::Error);
    if (t.block_size > 1) {
      REQUIRE_THROWS_AS(kq::row_size(t.type, t.block_size + 1), kq::Error);  // e.g. 33 for Q4_0
      REQUIRE_THROWS_AS(kq::row_size(t.type, t.block_size - 1), kq::Error);
      REQUIRE_THROWS_AS(kq::row_size(t.type, 3 * t.block_size / 2), kq::Error);
    }
  }
}

TEST_CASE("registry: quantize -> dequantize stays within the derived error bound", "[registry]") {
  const std::vector<float> x = gaussian_rows(kRows, kN, 1);
  for_each_type([&](const TypeTraits& t, const Spec& s) {
    double err2 = 0, bound2 = 0, norm2 = 0;
    for (int r = 0; r < kRows; ++r) {
      const float* row = x.data() + size_t(r) * kN;
      const auto q = quantize(t, row, kN);
      REQUIRE(quantize(t, row, kN) == q);  // deterministic
      const auto y = dequantize(t, q.data(), kN);
      REQUIRE(all_finite(y));
      err2 += std::pow(error_norm(row, y.data(), kN), 2);
      bound2 += std::pow(predicted_error(s, row, kN), 2);
      for (int64_t i = 0; i < kN; ++i) norm2 += double(row[i]) * row[i];
    }
    const double rel = std::sqrt(err2 / norm2), rel_bound = std::sqrt(bound2 / norm2);
    INFO("relative RMSE " << rel << ", bound " << rel_bound);
    if (s.step == Step::Exact) REQUIRE(err2 == 0.0);
    REQUIRE(std::sqrt(err2) <= std::sqrt(bound2));
  });
}

TEST_CASE("registry: all-zero and constant rows", "[registry]") {
  for_each_type([&](const TypeTraits& t, const Spec& s) {
    const std::vector<float> zero(kN, 0.0f);
    const auto z = round_trip(t, zero.data(), kN);
    for (float v : z) REQUIRE(v == 0.0f);  // exact zeros: no NaN from a 0/0 scale
    // A constant is one grid point times a scale, so only the f16 (or bf16) rounding of that
    // scale remains: 2^-11 relative, plus float products; 2^-10 is the bound (the spec's own
    // unit roundoff for BF16). That holds while the stored scales are normal f16 numbers: the
    // smallest is amax/4064 (IQ4_XS: 127 levels × 32) or amax/4096 (Q6_K), so |c| ≥ 0.25. Below
    // that the scale is an f16 subnormal with absolute, not relative, rounding (llama.cpp alike).
    const double tol = std::max(0x1p-10, s.step == Step::Float ? s.levels : 0.0);
    for (float c : {0.7f, -3.25f, 1000.0f, -0.375f}) {
      INFO("constant " << c);
      const std::vector<float> row(kN, c);
      const auto y = round_trip(t, row.data(), kN);
      REQUIRE(all_finite(y));
      for (float v : y) REQUIRE(std::fabs(double(v) - c) <= tol * std::fabs(c));
    }
  });
}

TEST_CASE("registry: one huge outlier", "[registry]") {
  for_each_type([&](const TypeTraits& t, const Spec& s) {
    for (float big : {1e4f, -1e4f}) {
      INFO("outlier " << big);
      std::vector<float> x = gaussian_rows(1, kN, 2, false);
      x[300] = big;
      const auto y = round_trip(t, x.data(), kN);
      REQUIRE(all_finite(y));
      // The block extreme sets the scale, so every type reproduces it to well within one step
      // of its coarsest (2-bit) grid.
      REQUIRE(std::fabs(y[300] - big) <= 0.15 * std::fabs(big));
      REQUIRE(error_norm(x.data(), y.data(), kN) <= predicted_error(s, x.data(), kN));
    }
  });
}

TEST_CASE("registry: values near the f16 limit", "[registry]") {
  // Scales are f16 in most blocks: ±65504 data still has a representable scale (Q8_0: 65504/127),
  // so no inf or NaN may appear. Only Q8_1's informational sum s = d·Σq can overflow f16; it is not
  // part of the dequantized values.
  for_each_type([&](const TypeTraits& t, const Spec& s) {
    std::vector<float> x = gaussian_rows(1, kN, 3, false);
    for (float& v : x) v = std::clamp(v * 40000.0f, -65504.0f, 65504.0f);
    x[0] = 65504.0f;
    x[1] = -65504.0f;
    x[kN - 1] = 65504.0f;
    const auto y = round_trip(t, x.data(), kN);
    REQUIRE(all_finite(y));
    // Factor 2: clipped data puts +65504 and −65504 in one block; Q4_0/Q5_0's asymmetric grid
    // (−8..7) then clamps the second extreme by a full step, which the RMS model does not expect.
    REQUIRE(error_norm(x.data(), y.data(), kN) <= 2.0 * predicted_error(s, x.data(), kN));
  });
}

TEST_CASE("registry: subnormal-scale inputs stay finite", "[registry]") {
  // A scale that underflows f16 (or whose reciprocal overflows float) must give zeros, not NaN.
  for_each_type([&](const TypeTraits& t, const Spec&) {
    for (float scale : {1e-30f, 1e-40f}) {
      INFO("scale " << scale);
      std::vector<float> x = gaussian_rows(1, kN, 4, true);
      double amax = 0;
      for (size_t i = 0; i < x.size(); ++i) {
        x[i] = (i % 5 == 0) ? 0.0f : x[i] * scale;  // zeros too: 0·inf is the NaN trap
        amax = std::max(amax, std::fabs(double(x[i])));
      }
      const auto y = round_trip(t, x.data(), kN);
      REQUIRE(all_finite(y));
      for (float v : y) REQUIRE(std::fabs(double(v)) <= 2.0 * amax);
    }
  });
}

TEST_CASE("registry: dequantize(quantize(dequantize(q)))", "[registry]") {
  const std::vector<float> x = gaussian_rows(2, kN, 5);
  for_each_type([&](const TypeTraits& t, const Spec& s) {
    for (int r = 0; r < 2; ++r) {
      const auto x1 = round_trip(t, x.data() + size_t(r) * kN, kN);
      const auto x2 = round_trip(t, x1.data(), kN);
      REQUIRE(all_finite(x2));
      if (s.idempotent) {
        // Only float rounding of a recomputed f32 scale (Q8_K) may differ: a few ulps of amax.
        double amax = 0;
        for (float v : x1) amax = std::max(amax, std::fabs(double(v)));
        for (int64_t i = 0; i < kN; ++i) {
          INFO("element " << i);
          REQUIRE(std::fabs(double(x2[i]) - x1[i]) <= 1e-6 * amax);
        }
      } else {
        REQUIRE(error_norm(x1.data(), x2.data(), kN) <= predicted_error(s, x1.data(), kN));
      }
    }
  });
}
