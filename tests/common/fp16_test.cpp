// Tests for common/fp16.h: exhaustive binary16 round trip and rounding against a direct formula.
#include "common/fp16.h"

#include <catch2/catch.hpp>
#include <cmath>

using namespace kq;

TEST_CASE("fp16: every binary16 value round-trips through float32", "[fp16]") {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = fp16_to_fp32(uint16_t(h));
    if (std::isnan(f)) {
      REQUIRE(std::isnan(fp16_to_fp32(fp32_to_fp16(f))));
      continue;
    }
    REQUIRE(fp32_to_fp16(f) == h);
  }
}

TEST_CASE("fp16: encoder rounds to nearest even at every midpoint", "[fp16]") {
  // Between consecutive finite positive halves a and b, the midpoint must go to the even one.
  for (uint32_t h = 0; h < 0x7BFF; ++h) {
    const float a = fp16_to_fp32(uint16_t(h)), b = fp16_to_fp32(uint16_t(h + 1));
    const double mid = (double(a) + double(b)) / 2;
    const float midf = float(mid);
    REQUIRE(double(midf) == mid);  // midpoints are exact in float32
    const uint16_t expect = (h & 1) ? uint16_t(h + 1) : uint16_t(h);
    REQUIRE(fp32_to_fp16(midf) == expect);
    REQUIRE(fp32_to_fp16(std::nextafter(midf, 0.f)) == h);
    REQUIRE(fp32_to_fp16(std::nextafter(midf, 1e9f)) == h + 1);
    REQUIRE(fp32_to_fp16(-midf) == (expect | 0x8000));
  }
  REQUIRE(fp32_to_fp16(65519.f) == 0x7BFF);
  REQUIRE(fp32_to_fp16(65520.f) == 0x7C00);
  REQUIRE(fp32_to_fp16(1e-9f) == 0);
  REQUIRE(fp32_to_fp16(INFINITY) == 0x7C00);
}

TEST_CASE("bf16: round to nearest even and NaN handling", "[fp16]") {
  REQUIRE(fp32_to_bf16(1.0f) == 0x3F80);
  REQUIRE(fp32_to_bf16(bits_float(0x3F808000u)) == 0x3F80);  // tie, even stays
  REQUIRE(fp32_to_bf16(bits_float(0x3F818000u)) == 0x3F82);  // tie, odd rounds up
  REQUIRE(fp32_to_bf16(bits_float(0x3F808001u)) == 0x3F81);
  REQUIRE(fp32_to_bf16(bits_float(0x7F800001u)) == 0x7FC0);  // signalling NaN made quiet
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = bf16_to_fp32(uint16_t(h));
    if (!std::isnan(f)) REQUIRE(fp32_to_bf16(f) == h);
  }
}

TEST_CASE("round_ne: ties to even", "[fp16]") {
  REQUIRE(round_ne(0.5f) == 0);
  REQUIRE(round_ne(1.5f) == 2);
  REQUIRE(round_ne(2.5f) == 2);
  REQUIRE(round_ne(-0.5f) == 0);
  REQUIRE(round_ne(-1.5f) == -2);
  REQUIRE(round_ne(-2.6f) == -3);
  REQUIRE(round_ne(127.49f) == 127);
  for (int i = -1000; i <= 1000; ++i) REQUIRE(round_ne(float(i) * 0.37f) == int(std::nearbyint(float(i) * 0.37f)));
}
