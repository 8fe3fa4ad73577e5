// Tests for quant/q5_0.*: nibble + qh bit layout, the reference recipe, edge blocks, imatrix, dot.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

#include "quant/q5_0.h"
#include "quant/q8_0.h"
#include "tests/quant/quant_test_util.h"

using namespace kq;
using namespace kq::legacy_test;

namespace {

// d = max/-16: half a step on the extreme's side, one step where level 31 (= +15) clamps, plus
// 16 levels times the f16 rounding of d.
double q5_0_bound(double amax) {
  const double d = amax / 16;
  return d * (1 + 1e-6) + 16 * std::fmax(d * kF16Rel, 0x1p-25);
}

BlockQ5_0 block_at(const std::vector<uint8_t>& q, size_t b) {
  BlockQ5_0 blk;
  std::memcpy(&blk, q.data() + b * sizeof blk, sizeof blk);
  return blk;
}

// Reads level e straight from the bytes: qh as a little-endian u32, bit e = bit 4 of element e.
int level(const BlockQ5_0& b, int e) {
  const int lo = e < 16 ? b.qs[e] & 0x0F : b.qs[e - 16] >> 4;
  return lo | (((b.qh[e / 8] >> (e % 8)) & 1) << 4);
}

}  // namespace

TEST_CASE("Q5_0 dequantizes hand-built bytes", "[legacy]") {
  uint8_t raw[22];
  raw[0] = 0x00;
  raw[1] = 0xB8;  // d = -0.5
  const uint32_t qh = 0xA5C3F00Fu;
  for (int k = 0; k < 4; ++k) raw[2 + k] = uint8_t(qh >> (8 * k));
  for (int j = 0; j < 16; ++j) raw[6 + j] = uint8_t(((3 * j) & 15) | ((15 - j) << 4));
  float y[32];
  dequantize_row_q5_0(raw, y, 32);
  for (int j = 0; j < 16; ++j) {
    const int q0 = ((3 * j) & 15) | int(((qh >> j) & 1) << 4);
    const int q1 = (15 - j) | int(((qh >> (j + 16)) & 1) << 4);
    REQUIRE(y[j] == -0.5f * float(q0 - 16));
    REQUIRE(y[j + 16] == -0.5f * float(q1 - 16));
  }
}

TEST_CASE("Q5_0 reference recipe: extreme at level 0, ties up, clamp at 31", "[legacy]") {
  // max = -16 gives d = 1, so the levels are min(31, trunc(x + 16.5)).
  std::vector<float> x(32, 0.0f);
  const float vals[] = {-16.0f, 15.4f, 15.6f, 0.5f, -0.5f, 3.5f, -3.5f, 14.49f};
  const int expect[] = {0, 31, 31, 17, 16, 20, 13, 30};
  for (int i = 0; i < 8; ++i) x[size_t(4 * i + 1)] = vals[i];  // spread over both halves and qh bytes
  x[1] = -16.0f;
  const auto blk = block_at(quantize(QType::Q5_0, x), 0);
  REQUIRE(blk.d == 0x3C00);
  for (int i = 0; i < 8; ++i) REQUIRE(level(blk, 4 * i + 1) == expect[i]);
  REQUIRE(level(blk, 0) == 16);
}

TEST_CASE("Q5_0 round trip is within the derived bound", "[legacy]") {
  Rng rng(8);
  for (float sigma : {1e-4f, 0.05f, 40.0f}) {
    const auto x = rng.normals(4096, sigma);
    const auto y = round_trip(QType::Q5_0, x);
    for (size_t b = 0; b < x.size(); b += 32) {
      double amax = 0;
      for (size_t i = b; i < b + 32; ++i) amax = std::fmax(amax, std::fabs(double(x[i])));
      for (size_t i = b; i < b + 32; ++i) REQUIRE(std::fabs(double(y[i]) - x[i]) <= q5_0_bound(amax));
    }
  }
}

TEST_CASE("Q5_0 edge blocks", "[legacy]") {
  check_edge_rows(QType::Q5_0, q5_0_bound);
  std::vector<float> x(32, 0.0f);
  x[31] = 16.0f * 65504.0f;  // positive extreme: d = -65504, the f16 limit
  const auto blk = block_at(quantize(QType::Q5_0, x), 0);
  REQUIRE(blk.d == 0xFBFF);
  REQUIRE(level(blk, 31) == 0);
}

TEST_CASE("Q5_0 imatrix lowers the weighted error", "[legacy]") { check_imatrix_lowers_error(QType::Q5_0); }

TEST_CASE("Q5_0 x Q8_0 dot: exact integer sums, derived tolerance on random rows", "[legacy]") {
  std::vector<BlockQ5_0> x(2);
  std::vector<BlockQ8_0> y(2);
  double expect = 0;
  for (int b = 0; b < 2; ++b) {
    set_f16(x[b].d, b ? 0.25f : 1.0f);
    set_f16(y[b].d, b ? 2.0f : 1.0f);
    const uint32_t qh = b ? 0xFFFF0000u : 0x0F0F0F0Fu;
    for (int k = 0; k < 4; ++k) x[b].qh[k] = uint8_t(qh >> (8 * k));
    int sumi = 0;
    for (int j = 0; j < 16; ++j) {
      x[b].qs[j] = uint8_t(((5 * j) & 15) | ((j ^ 9) << 4));
      y[b].qs[j] = int8_t(b ? -128 : 120 - 15 * j);
      y[b].qs[j + 16] = int8_t(b ? 127 : 7 * j - 50);
      const int q0 = ((5 * j) & 15) | int(((qh >> j) & 1) << 4);
      const int q1 = (j ^ 9) | int(((qh >> (j + 16)) & 1) << 4);
      sumi += (q0 - 16) * y[b].qs[j] + (q1 - 16) * y[b].qs[j + 16];
    }
    expect += double(sumi) * (b ? 0.5 : 1.0);
  }
  REQUIRE(dot_q5_0_q8_0(64, x.data(), y.data()) == float(expect));
  check_dot_random(QType::Q5_0, 1);
}

TEST_CASE("Q5_0 rejects rows that are not whole blocks", "[legacy]") { check_bad_lengths(QType::Q5_0); }
