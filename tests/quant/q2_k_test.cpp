// Tests for quant/q2_k: byte-level dequantization, quantization bounds and edge blocks, dot with Q8_K, imatrix.
#include "quant/q2_k.h"

#include "kquant_test_util.h"

using namespace kq;
using namespace kq::test;

namespace {

// Reads element e straight from the 84 block bytes: scales @0, qs @16, d @80, dmin @82.
Elem decode(const uint8_t* blk, int e) {
  const float d = read_f16(blk + 80);
  const float dmin = read_f16(blk + 82);
  const int sc = blk[e / 16] & 0x0F;
  const int m = blk[e / 16] >> 4;
  const int h = e / 128, s = (e % 128) / 32, l = e % 32;
  Elem el;
  el.a = d * float(sc);
  el.b = dmin * float(m);
  el.q = (blk[16 + 32 * h + l] >> (2 * s)) & 3;
  el.qmin = 0;
  el.qmax = 3;
  el.ea = double(d) * sc;
  el.eb = double(dmin) * m;
  return el;
}

const KType kType{84, decode, {80, 82}, quantize_row_q2_k, dequantize_row_q2_k, dot_q2_k_q8_k};

}  // namespace

TEST_CASE("Q2_K: dequantize a hand-built block", "[kquant]") {
  alignas(4) uint8_t blk[84] = {};
  for (int j = 0; j < 16; ++j) blk[j] = uint8_t(0x21);  // scale 1, min 2 everywhere ...
  blk[15] = 0xF3;                                       // ... except the last sub-block: scale 3, min 15
  for (int i = 0; i < 64; ++i) blk[16 + i] = 0xE4;      // levels 0,1,2,3 in bit pairs 0..3
  write_f16(blk + 80, 0.5f);
  write_f16(blk + 82, 0.25f);
  float y[256];
  dequantize_row_q2_k(blk, y, 256);
  // Element e has level (e % 128) / 32; value 0.5 * 1 * q - 0.25 * 2.
  REQUIRE(y[0] == -0.5f);
  REQUIRE(y[32] == 0.0f);
  REQUIRE(y[64] == 0.5f);
  REQUIRE(y[127] == 1.0f);
  // Sub-block 15 covers elements 240..255 (level 3): 0.5 * 3 * 3 - 0.25 * 15.
  REQUIRE(y[250] == 4.5f - 3.75f);
  check_dequant_exact(blk, 1, 84, decode, y);
}

TEST_CASE("Q2_K: dequantize random blocks bit-exactly", "[kquant]") {
  Rng rng(1);
  const auto q = random_blocks(kType, rng, 16);
  const auto y = dequantize_all(kType, q);
  check_dequant_exact(q.data(), 16, 84, decode, y.data());
}

TEST_CASE("Q2_K: dequantize saturated fields bit-exactly", "[kquant]") {
  check_extreme_fields(kType);
}

TEST_CASE("Q2_K: quantization puts every element on its nearest level", "[kquant]") {
  Rng rng(2);
  const std::vector<float> x = rng.normals(4096, 1.0f);
  const double rmse = round_trip(kType, x, 1024);
  INFO("rmse " << rmse);
  CHECK(rmse < 0.33);  // regression guard: observed 0.290 sigma
  // Uniform data on [-2, 5]: the plain min-to-max grid has step 7/3 and RMSE step/sqrt(12) = 0.67.
  std::vector<float> u(2048);
  for (auto& v : u) v = rng.uniform(-2.0f, 5.0f);
  CHECK(round_trip(kType, u, 512) < 0.67);
}

TEST_CASE("Q2_K: edge blocks", "[kquant]") {
  check_edge_blocks(kType);
}

TEST_CASE("Q2_K: importance weights lower the weighted error", "[kquant]") {
  check_imatrix_helps(kType);
}

TEST_CASE("Q2_K: dot with Q8_K matches the dequantized product", "[kquant]") {
  check_dot_random(kType);
}

TEST_CASE("Q2_K: dot with Q8_K is exact on an integer-valued case", "[kquant]") {
  // Weights: d = dmin = 1, scale 1 and min 1 everywhere, level (e % 128) / 32: x_e = q_e - 1.
  alignas(4) uint8_t blk[84] = {};
  for (int j = 0; j < 16; ++j) blk[j] = 0x11;
  for (int i = 0; i < 64; ++i) blk[16 + i] = 0xE4;
  write_f16(blk + 80, 1.0f);
  write_f16(blk + 82, 1.0f);
  std::vector<float> a(256);
  for (int e = 0; e < 256; ++e) a[size_t(e)] = float((e * 37) % 255 - 127);  // integer activations, max |a| = 127
  const auto y = make_q8_k(a.data(), 256);
  REQUIRE(std::fabs(y[0].d) == 1.0f);
  int64_t expect = 0;
  for (int e = 0; e < 256; ++e) expect += int64_t(y[0].qs[e]) * ((e % 128) / 32 - 1);
  REQUIRE(dot_q2_k_q8_k(256, blk, y.data()) == float(y[0].d) * float(expect));
}

TEST_CASE("Q2_K: rows that are not whole blocks throw", "[kquant]") {
  check_bad_lengths(kType);
}
