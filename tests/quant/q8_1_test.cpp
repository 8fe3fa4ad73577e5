// Tests for quant/q8_1.*: byte layout, the stored block sum s, edge blocks, bad lengths.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

#include "quant/q8_1.h"
#include "tests/quant/quant_test_util.h"

using namespace kq;
using namespace kq::legacy_test;

namespace {

// Half a step of d = amax/127 plus 127 levels times the f16 rounding of d.
double q8_1_bound(double amax) {
  const double d = amax / 127;
  return d * 0.5 * (1 + 1e-6) + 127 * std::fmax(d * kF16Rel, 0x1p-25);
}

}  // namespace

TEST_CASE("Q8_1 dequantizes hand-built bytes", "[legacy]") {
  uint8_t raw[36];
  raw[0] = 0x00;
  raw[1] = 0x3A;  // d = 0.75
  raw[2] = 0x00;
  raw[3] = 0x7C;  // s = inf: dequantization must not read it
  for (int i = 0; i < 32; ++i) raw[4 + i] = uint8_t(int8_t(100 - 7 * i));
  float y[32];
  dequantize_row_q8_1(raw, y, 32);
  for (int i = 0; i < 32; ++i) REQUIRE(y[i] == 0.75f * float(100 - 7 * i));
}

TEST_CASE("Q8_1 stores s = fp16(d * sum q) with the unrounded d", "[legacy]") {
  Rng rng(3);
  const auto x = rng.normals(2048, 0.3f);
  const auto q = quantize(QType::Q8_1, x);
  for (size_t b = 0; b < x.size() / 32; ++b) {
    BlockQ8_1 blk;
    std::memcpy(&blk, q.data() + b * sizeof blk, sizeof blk);
    float amax = 0;
    int sum = 0;
    for (int i = 0; i < 32; ++i) {
      amax = std::fmax(amax, std::fabs(x[b * 32 + i]));
      sum += blk.qs[i];
    }
    const float d = amax / 127.0f;
    REQUIRE(blk.d == fp32_to_fp16(d));
    REQUIRE(blk.s == fp32_to_fp16(float(sum) * d));
    // The levels are round-half-away of x*(1/d), as for Q8_0.
    for (int i = 0; i < 32; ++i) REQUIRE(blk.qs[i] == int(std::round(x[b * 32 + i] * (1.0f / d))));
  }
}

TEST_CASE("Q8_1 round trip and edge blocks", "[legacy]") {
  Rng rng(4);
  const auto x = rng.normals(4096, 2.0f);
  const auto y = round_trip(QType::Q8_1, x);
  for (size_t b = 0; b < x.size(); b += 32) {
    double amax = 0;
    for (size_t i = b; i < b + 32; ++i) amax = std::fmax(amax, std::fabs(double(x[i])));
    for (size_t i = b; i < b + 32; ++i) REQUIRE(std::fabs(double(y[i]) - x[i]) <= q8_1_bound(amax));
  }
  check_edge_rows(QType::Q8_1, q8_1_bound);
  // All-zero blocks store d = 0 and s = 0, not NaN.
  const auto q = quantize(QType::Q8_1, std::vector<float>(64, 0.0f));
  for (int b = 0; b < 2; ++b) {
    BlockQ8_1 blk;
    std::memcpy(&blk, q.data() + b * sizeof blk, sizeof blk);
    REQUIRE(blk.d == 0);
    REQUIRE(blk.s == 0);
  }
}

TEST_CASE("Q8_1 rejects rows that are not whole blocks", "[legacy]") { check_bad_lengths(QType::Q8_1); }
