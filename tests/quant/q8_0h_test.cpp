// Tests for quant/q8_0h.*: kq's internal activation type for Q8_0 weights (one f16 scale per
// 16-element half): byte layout, per-half rounding, edge blocks, and the exact Q8_0 · Q8_0H dot.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

#include "quant/q8_0.h"
#include "quant/q8_0h.h"
#include "tests/quant/quant_test_util.h"

using namespace kq;
using namespace kq::legacy_test;

TEST_CASE("Q8_0H dequantizes hand-built bytes, one scale per half", "[legacy]") {
  uint8_t raw[36];
  raw[0] = 0x00;
  raw[1] = 0x38;  // d[0] = 0.5
  raw[2] = 0x00;
  raw[3] = 0xC2;  // d[1] = -3.0
  for (int i = 0; i < 32; ++i) raw[4 + i] = uint8_t(int8_t(100 - 7 * i));
  float y[32];
  dequantize_row_q8_0h(raw, y, 32);
  for (int i = 0; i < 32; ++i) REQUIRE(y[i] == (i < 16 ? 0.5f : -3.0f) * float(100 - 7 * i));
}

TEST_CASE("Q8_0H rounds each half with d = amax/127 of that half, ties to even", "[legacy]") {
  Rng rng(5);
  auto x = rng.normals(2048, 0.7f);
  for (size_t i = 40; i < 48; ++i) x[i] *= 30.0f;  // halves of very different ranges in one block
  const auto q = quantize(QType::Q8_0H, x);
  for (size_t b = 0; b < x.size() / 32; ++b) {
    BlockQ8_0H blk;
    std::memcpy(&blk, q.data() + b * sizeof blk, sizeof blk);
    for (int h = 0; h < 2; ++h) {
      float amax = 0;
      for (int i = 16 * h; i < 16 * h + 16; ++i) amax = std::fmax(amax, std::fabs(x[b * 32 + size_t(i)]));
      REQUIRE(blk.d[h] == fp32_to_fp16(amax / 127.0f));
      const float id = amax != 0 ? 127.0f / amax : 0.0f;
      for (int i = 16 * h; i < 16 * h + 16; ++i)
        REQUIRE(blk.qs[i] == int(std::nearbyint(x[b * 32 + size_t(i)] * id)));
    }
  }
  // amax = 127 gives d = 1, so the ties stay visible: 2.5 -> 2 and -3.5 -> -4 (even), not away from zero.
  BlockQ8_0H blk;
  std::vector<float> t(32, 0.0f);
  t[0] = 127.0f;
  t[1] = 2.5f;
  t[2] = -3.5f;
  t[17] = 1.5f;  // the second half: amax 1.5, so its own scale and level 127
  const auto qt = quantize(QType::Q8_0H, t);
  std::memcpy(&blk, qt.data(), sizeof blk);
  REQUIRE(blk.qs[1] == 2);
  REQUIRE(blk.qs[2] == -4);
  REQUIRE(blk.qs[17] == 127);
  REQUIRE(blk.d[1] == fp32_to_fp16(1.5f / 127.0f));
}

TEST_CASE("Q8_0H round trip and edge blocks", "[legacy]") {
  // Per element: half a step of its half's d = amax/127 plus 127 levels times the f16 rounding of
  // d. check_edge_rows measures amax over a whole 32-block, an upper bound of each half's.
  auto bound = [](double amax) {
    const double d = amax / 127;
    return d * 0.5 * (1 + 1e-6) + 127 * std::fmax(d * kF16Rel, 0x1p-25);
  };
  check_edge_rows(QType::Q8_0H, bound);
  const auto q = quantize(QType::Q8_0H, std::vector<float>(64, 0.0f));
  for (uint8_t v : q) REQUIRE(v == 0);  // all-zero blocks: d = 0, q = 0, no NaN
}

TEST_CASE("Q8_0 x Q8_0H dot: exact integer sums, derived tolerance on random rows", "[legacy]") {
  // Powers-of-two scales keep every float operation exact, so the result is the integer sum.
  std::vector<BlockQ8_0> x(3);
  std::vector<BlockQ8_0H> y(3);
  const float dx[] = {1.0f, 0.5f, 4.0f}, dy[3][2] = {{1.0f, 8.0f}, {2.0f, 0.125f}, {0.25f, 0.25f}};
  double expect = 0;
  for (int b = 0; b < 3; ++b) {
    set_f16(x[b].d, dx[b]);
    set_f16(y[b].d[0], dy[b][0]);
    set_f16(y[b].d[1], dy[b][1]);
    for (int i = 0; i < 32; ++i) {
      x[b].qs[i] = int8_t(i % 2 ? 127 : -128);
      y[b].qs[i] = int8_t(b == 1 ? -127 : 127 - 8 * i);
      expect += double(x[b].qs[i]) * y[b].qs[i] * dx[b] * dy[b][i / 16];
    }
  }
  REQUIRE(dot_q8_0_q8_0h(96, x.data(), y.data()) == float(expect));
  check_dot_random(QType::Q8_0, 1, 2);  // two scaled terms per block
}

TEST_CASE("Q8_0H rejects rows that are not whole blocks and is internal", "[legacy]") {
  check_bad_lengths(QType::Q8_0H);
  REQUIRE(traits(QType::Q8_0).vec_dot_type == QType::Q8_0H);
  REQUIRE(traits(QType::Q8_0H).activation_only);
  REQUIRE(find_type(uint32_t(QType::Q8_0H)) == nullptr);  // never read from a file
  REQUIRE(find_type("Q8_0H") == nullptr);                 // never named on a command line
  // The other Q8_0-activation weight types and the KV cache's Q4_0-style users keep Q8_0.
  for (QType t : {QType::Q4_0, QType::Q5_0, QType::IQ4_NL}) REQUIRE(traits(t).vec_dot_type == QType::Q8_0);
}
