// Tests for quant/q5_1.*: layout with min and qh, the min/max recipe, edge blocks, imatrix, dot.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

#include "quant/q5_1.h"
#include "quant/q8_1.h"
#include "tests/quant/quant_test_util.h"

using namespace kq;
using namespace kq::legacy_test;

namespace {

// d = (max-min)/31 <= 2*amax/31: half a step, 31 levels times the f16 rounding of d, the f16
// rounding of m, and f32 slop in (x-min)*id and d*q+m.
double q5_1_bound(double amax) {
  const double d = 2 * amax / 31;
  return d * 0.5 * (1 + 1e-5) + 31 * std::fmax(d * kF16Rel, 0x1p-25) + std::fmax(amax * kF16Rel, 0x1p-25) +
         amax * 1e-6;
}

BlockQ5_1 block_at(const std::vector<uint8_t>& q, size_t b) {
  BlockQ5_1 blk;
  std::memcpy(&blk, q.data() + b * sizeof blk, sizeof blk);
  return blk;
}

int level(const BlockQ5_1& b, int e) {
  const int lo = e < 16 ? b.qs[e] & 0x0F : b.qs[e - 16] >> 4;
  return lo | (((b.qh[e / 8] >> (e % 8)) & 1) << 4);
}

}  // namespace

TEST_CASE("Q5_1 dequantizes hand-built bytes: x = d*q + m", "[legacy]") {
  uint8_t raw[24];
  raw[0] = 0x00;
  raw[1] = 0x38;  // d = 0.5
  raw[2] = 0x00;
  raw[3] = 0x44;  // m = 4.0
  const uint32_t qh = 0x9A3C0FF1u;
  for (int k = 0; k < 4; ++k) raw[4 + k] = uint8_t(qh >> (8 * k));
  for (int j = 0; j < 16; ++j) raw[8 + j] = uint8_t(((j * 7) & 15) | (j << 4));
  float y[32];
  dequantize_row_q5_1(raw, y, 32);
  for (int j = 0; j < 16; ++j) {
    const int q0 = ((j * 7) & 15) | int(((qh >> j) & 1) << 4);
    const int q1 = j | int(((qh >> (j + 16)) & 1) << 4);
    REQUIRE(y[j] == float(q0) * 0.5f + 4.0f);
    REQUIRE(y[j + 16] == float(q1) * 0.5f + 4.0f);
  }
}

TEST_CASE("Q5_1 reference recipe: min at level 0, max at level 31, ties up", "[legacy]") {
  // min = -7, max = 24 gives d = 1 exactly.
  std::vector<float> x(32, 0.0f);
  const float vals[] = {-7.0f, 24.0f, -6.5f, 0.49f, 9.5f, 23.6f};
  const int expect[] = {0, 31, 1, 7, 17, 31};
  std::copy(std::begin(vals), std::end(vals), x.begin() + 13);
  const auto blk = block_at(quantize(QType::Q5_1, x), 0);
  REQUIRE(blk.d == 0x3C00);
  REQUIRE(fp16_to_fp32(blk.m) == -7.0f);
  for (int i = 0; i < 6; ++i) REQUIRE(level(blk, 13 + i) == expect[i]);
  REQUIRE(level(blk, 0) == 7);
}

TEST_CASE("Q5_1 round trip is within the derived bound", "[legacy]") {
  Rng rng(10);
  for (float sigma : {1e-4f, 0.05f, 40.0f}) {
    auto x = rng.normals(4096, sigma);
    for (size_t i = 0; i < x.size(); i += 3) x[i] = std::fabs(x[i]) + sigma;  // skewed blocks
    const auto y = round_trip(QType::Q5_1, x);
    for (size_t b = 0; b < x.size(); b += 32) {
      double amax = 0;
      for (size_t i = b; i < b + 32; ++i) amax = std::fmax(amax, std::fabs(double(x[i])));
      for (size_t i = b; i < b + 32; ++i) REQUIRE(std::fabs(double(y[i]) - x[i]) <= q5_1_bound(amax));
    }
  }
}

TEST_CASE("Q5_1 edge blocks", "[legacy]") {
  check_edge_rows(QType::Q5_1, q5_1_bound);
  const auto blk = block_at(quantize(QType::Q5_1, std::vector<float>(32, 65504.0f)), 0);
  REQUIRE(blk.d == 0);
  REQUIRE(blk.m == 0x7BFF);
}

TEST_CASE("Q5_1 imatrix lowers the weighted error", "[legacy]") { check_imatrix_lowers_error(QType::Q5_1); }

TEST_CASE("Q5_1 x Q8_1 dot: exact integer sums plus m*s, derived tolerance on random rows", "[legacy]") {
  std::vector<BlockQ5_1> x(2);
  std::vector<BlockQ8_1> y(2);
  double expect = 0;
  for (int b = 0; b < 2; ++b) {
    set_f16(x[b].d, b ? 0.5f : 1.0f);
    set_f16(x[b].m, b ? -2.0f : 0.25f);
    set_f16(y[b].d, b ? 4.0f : 1.0f);
    const uint32_t qh = b ? 0xFFFFFFFFu : 0x00FF00F0u;
    for (int k = 0; k < 4; ++k) x[b].qh[k] = uint8_t(qh >> (8 * k));
    int sumi = 0, sumy = 0;
    for (int j = 0; j < 16; ++j) {
      x[b].qs[j] = uint8_t(((j + 3 * b) & 15) | ((15 - j) << 4));
      y[b].qs[j] = int8_t(b ? -128 : 127 - 11 * j);
      y[b].qs[j + 16] = int8_t(b ? 127 : 4 * j);
      const int q0 = ((j + 3 * b) & 15) | int(((qh >> j) & 1) << 4);
      const int q1 = (15 - j) | int(((qh >> (j + 16)) & 1) << 4);
      sumi += q0 * y[b].qs[j] + q1 * y[b].qs[j + 16];
      sumy += y[b].qs[j] + y[b].qs[j + 16];
    }
    set_f16(y[b].s, float(sumy) * (b ? 4.0f : 1.0f));
    expect += double(sumi) * (b ? 2.0 : 1.0) + double(b ? -2.0 : 0.25) * fp16_to_fp32(y[b].s);
  }
  REQUIRE(dot_q5_1_q8_1(64, x.data(), y.data()) == float(expect));
  // As for Q4_1: the stored s against d_y*sum(q), plus roundings of the two partial terms.
  auto extra = [](const std::vector<uint8_t>& qx, const std::vector<uint8_t>& qy, int64_t n) {
    double tol = 0;
    for (int64_t b = 0; b < n / 32; ++b) {
      BlockQ5_1 xb;
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
  check_dot_random(QType::Q5_1, 3, 1, extra);
}

TEST_CASE("Q5_1 rejects rows that are not whole blocks", "[legacy]") { check_bad_lengths(QType::Q5_1); }
