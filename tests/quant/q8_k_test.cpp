// Tests for quant/q8_k.*: byte layout, signed-extreme scale, round-half-even levels, bsums, edge blocks.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstddef>
#include <cstring>

#include "quant/q8_k.h"
#include "tests/quant/quant_test_util.h"

using namespace kq;
using namespace kq::legacy_test;

namespace {

// d = max/-127 is stored as f32, so the bound is half a step plus f32 slop.
// Below f32 min normal the stored d itself rounds, by at most half the smallest subnormal.
double q8_k_bound(double amax) { return amax / 127 * 0.5 * (1 + 1e-5) + amax * 1e-6 + 127 * 0x1p-150; }

BlockQ8K block_at(const std::vector<uint8_t>& q, size_t b) {
  BlockQ8K blk;
  std::memcpy(&blk, q.data() + b * sizeof blk, sizeof blk);
  return blk;
}

}  // namespace

TEST_CASE("Q8_K layout: f32 d at 0, qs at 4, bsums at 260", "[legacy]") {
  STATIC_REQUIRE(offsetof(BlockQ8K, qs) == 4);
  STATIC_REQUIRE(offsetof(BlockQ8K, bsums) == 260);
  uint8_t raw[292] = {};
  const float d = -0.015625f;
  std::memcpy(raw, &d, 4);
  for (int i = 0; i < 256; ++i) raw[4 + i] = uint8_t(int8_t((i * 37) % 255 - 127));
  float y[256];
  dequantize_row_q8_k(raw, y, 256);
  for (int i = 0; i < 256; ++i) REQUIRE(y[i] == d * float((i * 37) % 255 - 127));
}

TEST_CASE("Q8_K maps the signed extreme to -127 and rounds ties to even", "[legacy]") {
  // max = -127 gives iscale = 1 exactly, so the levels are round_ne(x).
  std::vector<float> x(256, 0.0f);
  const float vals[] = {-127.0f, 2.5f, 3.5f, -2.5f, -3.5f, 0.5f, 126.5f, 127.0f};
  std::copy(std::begin(vals), std::end(vals), x.begin());
  auto blk = block_at(quantize(QType::Q8_K, x), 0);
  REQUIRE(blk.d == 1.0f);
  const int expect[] = {-127, 2, 4, -2, -4, 0, 126, 127};
  for (int i = 0; i < 8; ++i) REQUIRE(blk.qs[i] == expect[i]);
  // A positive extreme also maps to -127 (d < 0); its negation clamps at +127.
  x.assign(256, 0.25f);
  x[10] = 2.0f;
  x[11] = -2.0f;
  blk = block_at(quantize(QType::Q8_K, x), 0);
  REQUIRE(blk.d == 1.0f / (-127.0f / 2.0f));
  REQUIRE(blk.qs[10] == -127);
  REQUIRE(blk.qs[11] == 127);
  REQUIRE(blk.qs[0] == round_ne(-127.0f / 2.0f * 0.25f));
}

TEST_CASE("Q8_K bsums are the 16-element sums of qs", "[legacy]") {
  Rng rng(5);
  const auto x = rng.normals(2048, 3.0f);
  const auto q = quantize(QType::Q8_K, x);
  for (size_t b = 0; b < 8; ++b) {
    const auto blk = block_at(q, b);
    for (int g = 0; g < 16; ++g) {
      int s = 0;
      for (int i = 0; i < 16; ++i) s += blk.qs[16 * g + i];
      REQUIRE(blk.bsums[g] == s);
    }
  }
}

TEST_CASE("Q8_K round trip and edge blocks", "[legacy]") {
  Rng rng(6);
  const auto x = rng.normals(4096, 0.1f);
  const auto y = round_trip(QType::Q8_K, x);
  for (size_t b = 0; b < x.size(); b += 256) {
    double amax = 0;
    for (size_t i = b; i < b + 256; ++i) amax = std::fmax(amax, std::fabs(double(x[i])));
    for (size_t i = b; i < b + 256; ++i) REQUIRE(std::fabs(double(y[i]) - x[i]) <= q8_k_bound(amax));
  }
  check_edge_rows(QType::Q8_K, q8_k_bound);
  // All zero: d = 0 and every qs and bsums byte zero, even over a garbage-filled buffer.
  const auto q = quantize(QType::Q8_K, std::vector<float>(512, 0.0f));
  for (uint8_t byte : q) REQUIRE(byte == 0);
}

TEST_CASE("Q8_K rejects rows that are not whole blocks", "[legacy]") { check_bad_lengths(QType::Q8_K); }
