// Tests for quant/q4_0.*: nibble layout, the reference recipe, edge blocks, imatrix, dot with Q8_0.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

#include "quant/q4_0.h"
#include "quant/q8_0.h"
#include "tests/quant/quant_test_util.h"

using namespace kq;
using namespace kq::legacy_test;

namespace {

// d = max/-8: elements on the extreme's side round to the nearest level (half a step); the other
// side can clamp at level 15 (= +7), one full step. Add 8 levels times the f16 rounding of d.
double q4_0_bound(double amax) {
  const double d = amax / 8;
  return d * (1 + 1e-6) + 8 * std::fmax(d * kF16Rel, 0x1p-25);
}

BlockQ4_0 block_at(const std::vector<uint8_t>& q, size_t b) {
  BlockQ4_0 blk;
  std::memcpy(&blk, q.data() + b * sizeof blk, sizeof blk);
  return blk;
}

int level(const BlockQ4_0& b, int e) { return e < 16 ? b.qs[e] & 0x0F : b.qs[e - 16] >> 4; }

}  // namespace

TEST_CASE("Q4_0 dequantizes hand-built bytes: lo nibble = element j, hi = element j+16", "[legacy]") {
  uint8_t raw[18];
  raw[0] = 0x00;
  raw[1] = 0x34;  // d = 0.25
  for (int j = 0; j < 16; ++j) raw[2 + j] = uint8_t(j | ((15 - j) << 4));
  float y[32];
  dequantize_row_q4_0(raw, y, 32);
  for (int j = 0; j < 16; ++j) {
    REQUIRE(y[j] == 0.25f * float(j - 8));
    REQUIRE(y[j + 16] == 0.25f * float(7 - j));
  }
}

TEST_CASE("Q4_0 reference recipe: the signed extreme maps to level 0, ties round up", "[legacy]") {
  // max = -8 gives d = 1 and 1/d = 1, so the levels are min(15, trunc(x + 8.5)).
  std::vector<float> x(32, 0.0f);
  const float vals[] = {-8.0f, 7.4f, 7.6f, 0.5f, -0.5f, 0.49f, 2.5f, -2.5f, -7.5f};
  const int expect[] = {0, 15, 15, 9, 8, 8, 11, 6, 1};
  std::copy(std::begin(vals), std::end(vals), x.begin());
  auto blk = block_at(quantize(QType::Q4_0, x), 0);
  REQUIRE(blk.d == 0x3C00);
  for (int i = 0; i < 9; ++i) REQUIRE(level(blk, i) == expect[i]);
  // A positive extreme gives a negative d and still lands on level 0.
  x.assign(32, 1.0f);
  x[20] = 8.0f;
  blk = block_at(quantize(QType::Q4_0, x), 0);
  REQUIRE(fp16_to_fp32(blk.d) == -1.0f);
  REQUIRE(level(blk, 20) == 0);
  REQUIRE(level(blk, 0) == 7);  // 1*(-1) + 8.5 = 7.5 -> 7
}

TEST_CASE("Q4_0 round trip is within the derived bound", "[legacy]") {
  Rng rng(7);
  for (float sigma : {1e-4f, 0.05f, 40.0f}) {
    const auto x = rng.normals(4096, sigma);
    const auto y = round_trip(QType::Q4_0, x);
    for (size_t b = 0; b < x.size(); b += 32) {
      double amax = 0;
      for (size_t i = b; i < b + 32; ++i) amax = std::fmax(amax, std::fabs(double(x[i])));
      for (size_t i = b; i < b + 32; ++i) REQUIRE(std::fabs(double(y[i]) - x[i]) <= q4_0_bound(amax));
    }
  }
}

TEST_CASE("Q4_0 edge blocks", "[legacy]") {
  check_edge_rows(QType::Q4_0, q4_0_bound);
  // The extreme element is reproduced up to the f16 rounding of d.
  std::vector<float> x(32, 0.001f);
  x[17] = -1000.0f;
  const auto y = round_trip(QType::Q4_0, x);
  REQUIRE(std::fabs(y[17] + 1000.0f) <= 1000.0 * kF16Rel);
  // d exactly at the f16 limit: max = -8*65504 stores 0x7BFF.
  x.assign(32, 0.0f);
  x[0] = -8.0f * 65504.0f;
  REQUIRE(block_at(quantize(QType::Q4_0, x), 0).d == 0x7BFF);
}

TEST_CASE("Q4_0 imatrix lowers the weighted error", "[legacy]") { check_imatrix_lowers_error(QType::Q4_0); }

TEST_CASE("Q4_0 x Q8_0 dot: exact integer sums, derived tolerance on random rows", "[legacy]") {
  std::vector<BlockQ4_0> x(2);
  std::vector<BlockQ8_0> y(2);
  double expect = 0;
  for (int b = 0; b < 2; ++b) {
    set_f16(x[b].d, b ? 0.5f : 1.0f);
    set_f16(y[b].d, b ? 8.0f : 1.0f);
    int sumi = 0;
    for (int j = 0; j < 16; ++j) {
      x[b].qs[j] = uint8_t((j + b) % 16 | ((15 - j) << 4));
      y[b].qs[j] = int8_t(b ? -128 : 127 - 5 * j);
      y[b].qs[j + 16] = int8_t(b ? 127 : -3 * j);
      sumi += ((j + b) % 16 - 8) * y[b].qs[j] + (7 - j) * y[b].qs[j + 16];
    }
    expect += double(sumi) * (b ? 4.0 : 1.0);
  }
  REQUIRE(dot_q4_0_q8_0(64, x.data(), y.data()) == float(expect));
  // (sumi*d_x)*d_y: two roundings per block.
  check_dot_random(QType::Q4_0, 2);
}

TEST_CASE("Q4_0 rejects rows that are not whole blocks", "[legacy]") { check_bad_lengths(QType::Q4_0); }
