// Tests for quant/q8_0.*: byte layout, round-half-away quantizer, edge blocks (the dot with its
// Q8_0H activations is in q8_0h_test.cpp).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

#include "quant/q8_0.h"
#include "tests/quant/quant_test_util.h"

using namespace kq;
using namespace kq::legacy_test;

namespace {

// Per-element bound of the round trip: half a step of d = amax/127, plus 127 levels times the
// f16 rounding of d (relative 2^-11, or 2^-25 absolute once d is subnormal in f16).
double q8_0_bound(double amax) {
  const double d = amax / 127;
  return d * 0.5 * (1 + 1e-6) + 127 * std::fmax(d * kF16Rel, 0x1p-25);
}

}  // namespace

TEST_CASE("Q8_0 dequantizes hand-built bytes", "[legacy]") {
  uint8_t raw[2 * 34];
  for (int b = 0; b < 2; ++b) {
    raw[34 * b + 0] = 0x00;
    raw[34 * b + 1] = b == 0 ? 0x38 : 0xC2;  // d = 0.5, then -3.0
    for (int i = 0; i < 32; ++i) raw[34 * b + 2 + i] = uint8_t(int8_t(i * 8 - 128 + b));
  }
  float y[64];
  dequantize_row_q8_0(raw, y, 64);
  for (int b = 0; b < 2; ++b) {
    const float d = b == 0 ? 0.5f : -3.0f;
    for (int i = 0; i < 32; ++i) REQUIRE(y[32 * b + i] == d * float(i * 8 - 128 + b));
  }
}

TEST_CASE("Q8_0 quantizes with d = amax/127 and rounds half away from zero", "[legacy]") {
  // amax = 127 gives d = 1 exactly, so x*(1/d) is x and the ties are visible.
  std::vector<float> x(32, 0.0f);
  const float vals[] = {-127.0f, 2.5f, -2.5f, 0.5f, -0.5f, 1.49f, 126.5f, -0.49f};
  std::copy(std::begin(vals), std::end(vals), x.begin());
  const auto q = quantize(QType::Q8_0, x);
  BlockQ8_0 b;
  std::memcpy(&b, q.data(), sizeof b);
  REQUIRE(b.d == 0x3C00);
  const int expect[] = {-127, 3, -3, 1, -1, 1, 127, 0};
  for (int i = 0; i < 8; ++i) REQUIRE(b.qs[i] == expect[i]);
  for (int i = 8; i < 32; ++i) REQUIRE(b.qs[i] == 0);
}

TEST_CASE("Q8_0 round trip stays within half a step", "[legacy]") {
  Rng rng(1);
  for (float sigma : {1e-3f, 1.0f, 300.0f}) {
    const auto x = rng.normals(4096, sigma);
    const auto y = round_trip(QType::Q8_0, x);
    for (size_t b = 0; b < x.size(); b += 32) {
      double amax = 0;
      for (size_t i = b; i < b + 32; ++i) amax = std::fmax(amax, std::fabs(double(x[i])));
      for (size_t i = b; i < b + 32; ++i) REQUIRE(std::fabs(double(y[i]) - x[i]) <= q8_0_bound(amax));
    }
  }
}

TEST_CASE("Q8_0 edge blocks", "[legacy]") {
  check_edge_rows(QType::Q8_0, q8_0_bound);
  // A scale exactly at the f16 limit: amax = 65504*127 stores d = 65504 (0x7BFF).
  std::vector<float> x(32, 1000.0f);
  x[3] = -65504.0f * 127.0f;
  const auto q = quantize(QType::Q8_0, x);
  BlockQ8_0 b;
  std::memcpy(&b, q.data(), sizeof b);
  REQUIRE(b.d == 0x7BFF);
  REQUIRE(b.qs[3] == -127);
  REQUIRE(b.qs[0] == 0);  // 1000/65504 rounds to 0
}

TEST_CASE("Q8_0 ignores the importance weights", "[legacy]") {
  Rng rng(2);
  const auto x = rng.normals(1024, 1.0f);
  const auto qw = rng.importance(1024);
  REQUIRE(quantize(QType::Q8_0, x) == quantize(QType::Q8_0, x, qw.data()));
}

TEST_CASE("Q8_0 rejects rows that are not whole blocks", "[legacy]") { check_bad_lengths(QType::Q8_0); }
