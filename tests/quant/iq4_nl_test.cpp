// Tests for quant/iq4_nl.* and quant/iq4_common.*: table layout, nearest search, scale search, dots.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

#include "quant/iq4_common.h"
#include "quant/iq4_nl.h"
#include "quant/q8_0.h"
#include "tests/quant/quant_test_util.h"

using namespace kq;
using namespace kq::legacy_test;

namespace {

BlockIQ4NL block_at(const std::vector<uint8_t>& q, size_t b) {
  BlockIQ4NL blk;
  std::memcpy(&blk, q.data() + b * sizeof blk, sizeof blk);
  return blk;
}

// Weighted SSE (weights x^2, as the quantizer uses without an imatrix) of the plain starting
// candidate d0 = max/127 with nearest levels: the search can only end at or below this.
double start_candidate_sse(const float* x) {
  double amax = 0;
  for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(double(x[j])));
  const double d0 = amax / 127;
  double sse = 0;
  for (int j = 0; j < 32; ++j) {
    double best = std::numeric_limits<double>::infinity();
    for (int v : kIq4Levels) best = std::fmin(best, std::fabs(double(x[j]) - d0 * v));
    sse += double(x[j]) * x[j] * best * best;
  }
  return sse;
}

}  // namespace

TEST_CASE("IQ4 level table and nearest-index search", "[legacy]") {
  for (int i = 0; i < 16; ++i) {
    REQUIRE(kIq4nlValues[i] == kIq4Levels[i]);
    REQUIRE(iq4_nearest_index(float(kIq4Levels[i])) == i);
  }
  for (int i = 0; i + 1 < 16; ++i) {
    const float mid = 0.5f * float(kIq4Levels[i] + kIq4Levels[i + 1]);
    REQUIRE(iq4_nearest_index(mid) == i + 1);  // ties go to the upper entry
    REQUIRE(iq4_nearest_index(std::nextafter(mid, -1000.0f)) == i);
  }
  REQUIRE(iq4_nearest_index(-1000.0f) == 0);
  REQUIRE(iq4_nearest_index(1000.0f) == 15);
  REQUIRE(iq4_nearest_index(0.0f) == 8);
}

TEST_CASE("IQ4_NL dequantizes hand-built bytes with the Q4_0 nibble placement", "[legacy]") {
  uint8_t raw[18];
  raw[0] = 0x00;
  raw[1] = 0xB4;  // d = -0.25
  for (int j = 0; j < 16; ++j) raw[2 + j] = uint8_t(j | (((j * 5) & 15) << 4));
  float y[32];
  dequantize_row_iq4_nl(raw, y, 32);
  for (int j = 0; j < 16; ++j) {
    REQUIRE(y[j] == -0.25f * float(kIq4Levels[j]));
    REQUIRE(y[j + 16] == -0.25f * float(kIq4Levels[(j * 5) & 15]));
  }
}

TEST_CASE("IQ4_NL reproduces a block that is exactly scale * table", "[legacy]") {
  std::vector<float> x(64);
  for (int j = 0; j < 64; ++j) x[size_t(j)] = (j < 32 ? 0.5f : -0.125f) * float(kIq4Levels[(j * 7) % 16]);
  const auto q = quantize(QType::IQ4_NL, x);
  REQUIRE(fp16_to_fp32(block_at(q, 0).d) == 0.5f);
  REQUIRE(fp16_to_fp32(block_at(q, 1).d) == -0.125f);
  REQUIRE(dequantize(QType::IQ4_NL, q, 64) == x);
}

TEST_CASE("IQ4_NL search: nearest levels, and no worse than the starting scale", "[legacy]") {
  Rng rng(11);
  for (float sigma : {1e-3f, 0.05f, 30.0f}) {
    auto x = rng.normals(2048, sigma);
    for (size_t i = 0; i < x.size(); i += 61) x[i] *= 6.0f;  // outliers
    const auto q = quantize(QType::IQ4_NL, x);
    const auto y = dequantize(QType::IQ4_NL, q, 2048);
    for (size_t b = 0; b < x.size() / 32; ++b) {
      const float d = fp16_to_fp32(block_at(q, b).d);
      check_iq4_nearest(&x[32 * b], &y[32 * b], d, f16_scale_error(d, 1), "IQ4_NL");
      // Triangle inequality in the x^2-weighted norm: the f16 rounding of d adds at most
      // 127*|s - d| * sqrt(sum w). The search compares f32 scores (sum wx^2 - SSE) accumulated
      // over 32 terms, so near-ties may pick a candidate worse by ~32 roundings of sum wx^2.
      double sse = 0, sum_w = 0, sum_wx2 = 0;
      for (size_t j = 32 * b; j < 32 * b + 32; ++j) {
        const double w = double(x[j]) * x[j];
        sse += w * (double(x[j]) - y[j]) * (double(x[j]) - y[j]);
        sum_w += w;
        sum_wx2 += w * w;
      }
      const double ds = std::fmax(std::fabs(double(d)) * kF16Rel * 1.01, 0x1p-25);
      INFO("block " << b);
      const double start = start_candidate_sse(&x[32 * b]) + 64 * kF32Rel * sum_wx2;
      REQUIRE(std::sqrt(sse) <= std::sqrt(start) + 127 * ds * std::sqrt(sum_w));
    }
  }
}

TEST_CASE("IQ4_NL edge blocks", "[legacy]") {
  // Loose sanity bound (the tight checks are above): at a scale within [amax/134, amax/100] the
  // worst error is half the largest table gap (12 steps) or the clamp beyond 113 (<= 0.16 amax).
  check_edge_rows(QType::IQ4_NL, [](double amax) { return 0.25 * amax + 127 * 0x1p-24; });
  const auto blk = block_at(quantize(QType::IQ4_NL, std::vector<float>(32, 0.0f)), 0);
  REQUIRE(blk.d == 0);
  for (uint8_t b : blk.qs) REQUIRE(b == 0x88);  // index 8 (level 1) is nearest to 0
}

TEST_CASE("IQ4_NL imatrix lowers the weighted error", "[legacy]") { check_imatrix_lowers_error(QType::IQ4_NL); }

TEST_CASE("IQ4_NL x Q8_0 dot: exact integer sums, derived tolerance on random rows", "[legacy]") {
  std::vector<BlockIQ4NL> x(2);
  std::vector<BlockQ8_0> y(2);
  double expect = 0;
  for (int b = 0; b < 2; ++b) {
    set_f16(x[b].d, b ? 0.25f : 1.0f);
    set_f16(y[b].d, b ? 2.0f : 1.0f);
    int sumi = 0;
    for (int j = 0; j < 16; ++j) {
      x[b].qs[j] = uint8_t(((j + b) & 15) | ((15 - j) << 4));
      y[b].qs[j] = int8_t(b ? -128 : 127 - 13 * j);
      y[b].qs[j + 16] = int8_t(b ? 127 : 6 * j - 40);
      sumi += kIq4Levels[(j + b) & 15] * y[b].qs[j] + kIq4Levels[15 - j] * y[b].qs[j + 16];
    }
    expect += double(sumi) * (b ? 0.5 : 1.0);
  }
  REQUIRE(dot_iq4_nl_q8_0(64, x.data(), y.data()) == float(expect));
  check_dot_random(QType::IQ4_NL, 1);
}

TEST_CASE("IQ4_NL rejects rows that are not whole blocks", "[legacy]") { check_bad_lengths(QType::IQ4_NL); }
