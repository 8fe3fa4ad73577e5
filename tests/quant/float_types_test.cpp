// Tests for quant/float_types.* (and the common/fp16.h conversions it uses): F32, F16, BF16 rows.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <vector>

#include "common/fp16.h"
#include "quant/float_types.h"
#include "tests/quant/quant_test_util.h"

using namespace kq;
using namespace kq::legacy_test;

namespace {

// Decodes binary16 from its fields with ldexp: an independent model of fp16_to_fp32.
double f16_model(uint16_t h) {
  const int sign = h >> 15, exp = (h >> 10) & 31, man = h & 1023;
  double v;
  if (exp == 31) v = man ? std::nan("") : INFINITY;
  else if (exp == 0) v = std::ldexp(double(man), -24);
  else v = std::ldexp(double(man + 1024), exp - 25);
  return sign ? -v : v;
}

}  // namespace

TEST_CASE("F16 decode matches the field formula for every code", "[legacy]") {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = fp16_to_fp32(uint16_t(h));
    const double m = f16_model(uint16_t(h));
    if (std::isnan(m)) {
      REQUIRE(std::isnan(f));
      REQUIRE(std::isnan(fp16_to_fp32(fp32_to_fp16(f))));
    } else {
      REQUIRE(double(f) == m);
      REQUIRE(fp32_to_fp16(f) == h);  // every finite code and +-inf round-trips bit for bit
    }
  }
}

TEST_CASE("F16 encode rounds to nearest even, overflows to inf, keeps subnormals", "[legacy]") {
  REQUIRE(fp32_to_fp16(0.0f) == 0x0000);
  REQUIRE(fp32_to_fp16(-0.0f) == 0x8000);
  REQUIRE(fp32_to_fp16(1.0f) == 0x3C00);
  REQUIRE(fp32_to_fp16(-2.0f) == 0xC000);
  REQUIRE(fp32_to_fp16(65504.0f) == 0x7BFF);
  REQUIRE(fp32_to_fp16(std::nextafter(65520.0f, 0.0f)) == 0x7BFF);
  REQUIRE(fp32_to_fp16(65520.0f) == 0x7C00);  // the tie rounds to even, which is inf
  REQUIRE(fp32_to_fp16(-1e9f) == 0xFC00);
  REQUIRE(fp32_to_fp16(0x1p-14f) == 0x0400);
  REQUIRE(fp32_to_fp16(0x1p-24f) == 0x0001);
  REQUIRE(fp32_to_fp16(0x1p-25f) == 0x0000);          // tie between 0 and 1 ulp: even
  REQUIRE(fp32_to_fp16(0x1.8p-24f) == 0x0002);        // tie between 1 and 2 ulps: even
  REQUIRE(fp32_to_fp16(0x1.000002p-25f) == 0x0001);   // just above the tie
  REQUIRE(fp32_to_fp16(1.0f + 0x1p-11f) == 0x3C00);   // tie: even
  REQUIRE(fp32_to_fp16(1.0f + 0x3p-11f) == 0x3C02);   // tie: even
  REQUIRE(fp32_to_fp16(1.0f + 0x1p-11f + 0x1p-20f) == 0x3C01);
  REQUIRE(fp32_to_fp16(0x1.ffcp-15f) == 0x0400);      // rounds up out of the subnormal range
  const uint16_t nan = fp32_to_fp16(std::nanf(""));
  REQUIRE((nan & 0x7C00) == 0x7C00);
  REQUIRE((nan & 0x03FF) != 0);
}

TEST_CASE("F16 encode picks the nearest code on random floats", "[legacy]") {
  Rng rng(13);
  for (int i = 0; i < 200000; ++i) {
    const float f = float(std::ldexp(rng.uniform() * 2 - 1, int(rng.uniform() * 44) - 28));
    const uint16_t h = fp32_to_fp16(f);
    const double err = std::fabs(f16_model(h) - f);
    // Neighbours one code up and down (same sign) are never strictly closer.
    for (int delta : {-1, 1}) {
      const int nb = int(h & 0x7FFF) + delta;
      if (nb < 0 || nb > 0x7BFF) continue;
      const double other = std::fabs(f16_model(uint16_t((h & 0x8000) | nb)) - f);
      INFO("f " << f << " h " << h);
      REQUIRE(err <= other);
      if (err == other) REQUIRE((h & 1) == 0);  // ties to even
    }
  }
}

TEST_CASE("BF16 conversions: truncation layout, RNE, NaN quieting", "[legacy]") {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = bf16_to_fp32(uint16_t(h));
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    REQUIRE(bits == h << 16);
    if (!std::isnan(f)) REQUIRE(fp32_to_bf16(f) == h);
  }
  REQUIRE(fp32_to_bf16(bits_float(0x3F808000u)) == 0x3F80);  // tie, even stays
  REQUIRE(fp32_to_bf16(bits_float(0x3F818000u)) == 0x3F82);  // tie, odd rounds up
  REQUIRE(fp32_to_bf16(bits_float(0x3F808001u)) == 0x3F81);
  REQUIRE(fp32_to_bf16(bits_float(0x7F7FFFFFu)) == 0x7F80);  // max float rounds to inf
  REQUIRE(fp32_to_bf16(bits_float(0x7F800001u)) == 0x7FC0);  // signalling NaN made quiet
  REQUIRE(fp32_to_bf16(bits_float(0xFF812345u)) == 0xFFC1);
  REQUIRE(fp32_to_bf16(bits_float(0x7F800000u)) == 0x7F80);
}

TEST_CASE("F32/F16/BF16 rows convert element by element", "[legacy]") {
  Rng rng(14);
  auto x = rng.normals(1000, 100.0f);
  x[3] = std::nanf("");
  x[4] = -INFINITY;
  x[5] = 1e-42f;
  std::vector<float> y(x.size());
  std::vector<uint16_t> h(x.size());
  std::vector<float> f(x.size());
  const int64_t n = int64_t(x.size());

  quantize_row_f32(x.data(), f.data(), n, nullptr);
  dequantize_row_f32(f.data(), y.data(), n);
  REQUIRE(std::memcmp(x.data(), y.data(), x.size() * 4) == 0);  // bit-exact, NaN payload too

  quantize_row_f16(x.data(), h.data(), n, nullptr);
  dequantize_row_f16(h.data(), y.data(), n);
  for (size_t i = 0; i < x.size(); ++i) {
    REQUIRE(h[i] == fp32_to_fp16(x[i]));
    REQUIRE(float_bits(y[i]) == float_bits(fp16_to_fp32(h[i])));
  }
  quantize_row_bf16(x.data(), h.data(), n, nullptr);
  dequantize_row_bf16(h.data(), y.data(), n);
  for (size_t i = 0; i < x.size(); ++i) {
    REQUIRE(h[i] == fp32_to_bf16(x[i]));
    REQUIRE(float_bits(y[i]) == float_bits(bf16_to_fp32(h[i])));
  }
}

TEST_CASE("F32 dot rounds each product to f32 and sums in double (ggml's reference)", "[legacy]") {
  // (1+2^-12)^2 = 1 + 2^-11 + 2^-24 rounds to 1 + 2^-11 in f32, cancelling the second term exactly;
  // a double product would leave 2^-24.
  const float x[2] = {1.0f + 0x1p-12f, 1.0f};
  const float y[2] = {1.0f + 0x1p-12f, -(1.0f + 0x1p-11f)};
  REQUIRE(dot_f32_f32(2, x, y) == 0.0f);
  REQUIRE(dot_f32_f32(0, x, y) == 0.0f);

  Rng rng(15);
  const auto a = rng.normals(4096, 1.0f), b = rng.normals(4096, 3.0f);
  double exact = 0, mag = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    exact += double(a[i]) * b[i];
    mag += std::fabs(double(a[i]) * b[i]);
  }
  // One f32 rounding per product, the double sum and the final f32 rounding.
  REQUIRE(std::fabs(double(dot_f32_f32(4096, a.data(), b.data())) - exact) <= 2 * kF32Rel * mag + std::fabs(exact) * kF32Rel);
}

TEST_CASE("F16 and BF16 weights dot f32 activations without rounding them", "[legacy]") {
  Rng rng(16);
  const auto a = rng.normals(4096, 1.0f), b = rng.normals(4096, 50.0f);
  std::vector<uint16_t> ha(a.size());
  for (const bool bf : {false, true}) {
    INFO((bf ? "BF16" : "F16"));
    const auto dot = bf ? dot_bf16_f32 : dot_f16_f32;
    for (size_t i = 0; i < a.size(); ++i) ha[i] = bf ? fp32_to_bf16(a[i]) : fp32_to_fp16(a[i]);
    // The weights widen exactly, so against the exact sum of (widened weight) x (f32 activation)
    // the error is one f32 rounding per product, the double sum and the final rounding.
    double exact = 0, mag = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      const double p = double(bf ? bf16_to_fp32(ha[i]) : fp16_to_fp32(ha[i])) * b[i];
      exact += p;
      mag += std::fabs(p);
    }
    REQUIRE(std::fabs(double(dot(4096, ha.data(), b.data())) - exact) <= 2 * kF32Rel * mag + std::fabs(exact) * kF32Rel);
    // An activation that neither F16 nor BF16 can hold comes through whole: 1 · (1 + 2^-20).
    const uint16_t one = bf ? fp32_to_bf16(1.0f) : fp32_to_fp16(1.0f);
    const float x = 1.0f + 0x1p-20f;
    REQUIRE(dot(1, &one, &x) == x);
  }
}
