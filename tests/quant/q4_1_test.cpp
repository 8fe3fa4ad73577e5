// Tests for quant/q4_1.*: layout with min, the min/max recipe, edge blocks, imatrix, dot with Q8_1.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

#include "quant/q4_1.h"
#include "quant/q8_1.h"
#include "tests/quant/quant_test_util.h"

using namespace kq;
using namespace kq::legacy_test;

namespace {

// d = (max-min)/15 <= 2*amax/15: half a step, 15 levels times the f16 rounding of d, the f16
// rounding of m, and f32 slop in (x-min)*id and d*q+m.
double q4_1_bound(double amax) {
  const double d = 2 * amax / 15;
  return d * 0.5 * (1 + 1e-5) + 15 * std::fmax(d * kF16Rel, 0x1p-25) + std::fmax(amax * kF16Rel, 0x1p-25) +
         amax * 1e-6;
}

BlockQ4_1 block_at(const std::vector<uint8_t>& q, size_t b) {
  BlockQ4_1 blk;
  std::memcpy(&blk, q.data() + b * sizeof blk, sizeof blk);
  return blk;
}

int level(const BlockQ4_1& b, int e) { return e < 16 ? b.qs[e] & 0x0F : b.qs[e - 16] >> 4; }

}  // namespace

TEST_CASE("Q4_1 dequantizes hand-built bytes: x = d*q + m", "[legacy]") {
  uint8_t raw[20];
  raw[0] = 0x00;
  raw[1] = 0x38;  // d = 0.5
  raw[2] = 0x00;
  raw[3] = 0xBE;  // m = -1.5
  for (int j = 0; j < 16; ++j) raw[4 + j] = uint8_t(((j * 7) & 15) | (j << 4));
  float y[32];
  dequantize_row_q4_1(raw, y, 32);
  for (int j = 0; j < 16; ++j) {
    REQUIRE(y[j] == float((j * 7) & 15) * 0.5f + -1.5f);
    REQUIRE(y[j + 16] == float(j) * 0.5f + -1.5f);
  }
}

TEST_CASE("Q4_1 reference recipe: min at level 0, max at level 15, ties up", "[legacy]") {
  // min = -3, max = 12 gives d = 1 exactly.
  std::vector<float> x(32, 0.0f);
  const float vals[] = {-3.0f, 12.0f, -2.5f, 0.49f, 1.5f, 11.6f};
  const int expect[] = {0, 15, 1, 3, 5, 15};
  std::copy(std::begin(vals), std::end(vals), x.begin() + 13);
  const auto blk = block_at(quantize(QType::Q4_1, x), 0);
  REQUIRE(blk.d == 0x3C00);
  REQUIRE(fp16_to_fp32(blk.m) == -3.0f);
  for (int i = 0; i < 6; ++i) REQUIRE(level(blk, 13 + i) == expect[i]);
  REQUIRE(level(blk, 0) == 3);
}

TEST_CASE("Q4_1 round trip is within the derived bound", "[legacy]") {
  Rng rng(9);
  for (float sigma : {1e-4f, 0.05f, 40.0f}) {
    auto x = rng.normals(4096, sigma);
    for (size_t i = 0; i < x.size(); i += 3) x[i] = std::fabs(x[i]) + sigma;  // skewed blocks
    const auto y = round_trip(QType::Q4_1, x);
    for (size_t b = 0; b < x.size(); b += 32) {
      double amax = 0;
      for (size_t i = b; i < b + 32; ++i) amax = std::fmax(amax, std::fabs(double(x[i])));
      for (size_t i = b; i < b + 32; ++i) REQUIRE(std::fabs(double(y[i]) - x[i]) <= q4_1_bound(amax));
    }
  }
}

TEST_CASE("Q4_1 edge blocks", "[legacy]") {
  check_edge_rows(QType::Q4_1, q4_1_bound);
  // A constant block stores d = 0 and m = the constant (f16): no NaN from 1/d.
  const auto blk = block_at(quantize(QType::Q4_1, std::vector<float>(32, -2.0f)), 0);
  REQUIRE(blk.d == 0);
  REQUIRE(fp16_to_fp32(blk.m) == -2.0f);
}

TEST_CASE("Q4_1 imatrix lowers the weighted error", "[legacy]") { check_imatrix_lowers_error(QType::Q4_1); }

TEST_CASE("Q4_1 x Q8_1 dot: exact integer sums plus m*s, derived tolerance on random rows", "[legacy]") {
  std::vector<BlockQ4_1> x(2);
  std::vector<BlockQ8_1> y(2);
  double expect = 0;
  for (int b = 0; b < 2; ++b) {
    set_f16(x[b].d, b ? 0.5f : 1.0f);
    set_f16(x[b].m, b ? -2.0f : 0.25f);
    set_f16(y[b].d, b ? 4.0f : 1.0f);
    int sumi = 0, sumy = 0;
    for (int j = 0; j < 16; ++j) {
      x[b].qs[j] = uint8_t(((j + 3 * b) & 15) | ((15 - j) << 4));
      y[b].qs[j] = int8_t(b ? -128 : 127 - 11 * j);
      y[b].qs[j + 16] = int8_t(b ? 127 : 4 * j);
      sumi += ((j + 3 * b) & 15) * y[b].qs[j] + (15 - j) * y[b].qs[j + 16];
      sumy += y[b].qs[j] + y[b].qs[j + 16];
    }
    // s is whatever the block says; use a value exact in f16 so the expected sum is exact.
    set_f16(y[b].s, float(sumy) * (b ? 4.0f : 1.0f));
    expect += double(sumi) * (b ? 2.0 : 1.0) + double(b ? -2.0 : 0.25) * fp16_to_fp32(y[b].s);
  }
  REQUIRE(dot_q4_1_q8_1(64, x.data(), y.data()) == float(expect));
  // The kernel uses the stored s where the dequantized reference uses d_y*sum(q): allow that
  // difference exactly, plus three roundings of the two partial terms (bounded by |m|*sum|y|).
  auto extra = [](const std::vector<uint8_t>& qx, const std::vector<uint8_t>& qy, int64_t n) {
    double tol = 0;
    for (int64_t b = 0; b < n / 32; ++b) {
      BlockQ4_1 xb;
      BlockQ8_1 yb;
      std::memcpy(&xb, qx.data() + b * sizeof xb, sizeof xb);
      std::memcpy(&yb, qy.data() + b * sizeof yb, sizeof yb);
      double sumy = 0, sumabs = 0;
      for (int i = 0; i < 32; ++i) {
        sumy += double(fp16_to_fp32(yb.d)) * yb.qs[i];
        sumabs += std::fabs(double(fp16_to_fp32(yb.d)) * yb.qs[i]);
      }
      const double m = std::fabs(double(fp16_to_fp32(xb.m)));
      tol += m * std::fabs(double(fp16_to_fp32(yb.s)) - sumy) + 6 * kF32Rel * m * sumabs;
    }
    return tol;
  };
  check_dot_random(QType::Q4_1, 3, 1, extra);
}

TEST_CASE("Q4_1 rejects rows that are not whole blocks", "[legacy]") { check_bad_lengths(QType::Q4_1); }
