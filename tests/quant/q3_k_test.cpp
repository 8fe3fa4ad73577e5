// Tests for quant/q3_k: byte-level dequantization, quantization bounds and edge blocks, dot with Q8_K, imatrix.
#include "quant/q3_k.h"

#include "kquant_test_util.h"

using namespace kq;
using namespace kq::test;

namespace {

// Reads element e straight from the 110 block bytes: hmask @0, qs @32, scales @96, d @108.
Elem decode(const uint8_t* blk, int e) {
  const float d = read_f16(blk + 108);
  const uint8_t* sc = blk + 96;
  const int j = e / 16;
  const int low4 = j < 8 ? (sc[j] & 0x0F) : (sc[j - 8] >> 4);
  const int high2 = (sc[8 + j % 4] >> (2 * (j / 4))) & 3;
  const int u = low4 | (high2 << 4);
  const int h = e / 128, s = (e % 128) / 32, l = e % 32;
  const int lo2 = (blk[32 + 32 * h + l] >> (2 * s)) & 3;
  const int hb = (blk[e % 32] >> (e / 32)) & 1;
  Elem el;
  el.a = d * float(u - 32);
  el.q = lo2 + 4 * hb - 4;
  el.qmin = -4;
  el.qmax = 3;
  el.ea = double(d) * (u - 32);
  return el;
}

const KType kType{110, decode, {108}, quantize_row_q3_k, dequantize_row_q3_k, dot_q3_k_q8_k};

// Builds the block used by the hand-checked tests: scale codes u = 33 (sub-blocks 0..7) and
// 34 (8..15), low bits (e % 128) / 32, hmask bit set for e < 128 only.
void hand_block(uint8_t* blk, float d) {
  for (int i = 0; i < 32; ++i) blk[i] = 0x0F;
  for (int i = 0; i < 64; ++i) blk[32 + i] = 0xE4;
  for (int i = 0; i < 8; ++i) blk[96 + i] = 0x21;
  for (int i = 8; i < 12; ++i) blk[96 + i] = 0xAA;
  write_f16(blk + 108, d);
}

}  // namespace

TEST_CASE("Q3_K: dequantize a hand-built block", "[kquant]") {
  alignas(4) uint8_t blk[110] = {};
  hand_block(blk, 0.25f);
  float y[256];
  dequantize_row_q3_k(blk, y, 256);
  REQUIRE(y[0] == 0.0f);     // level 0
  REQUIRE(y[32] == 0.25f);   // scale 1, level 1
  REQUIRE(y[127] == 0.75f);  // scale 1, level 3
  REQUIRE(y[128] == -2.0f);  // scale 2, no hmask bit: level -4
  REQUIRE(y[255] == -0.5f);  // scale 2, level 3 - 4
  check_dequant_exact(blk, 1, 110, decode, y);
}

TEST_CASE("Q3_K: dequantize random blocks bit-exactly", "[kquant]") {
  Rng rng(1);
  const auto q = random_blocks(kType, rng, 16);
  const auto y = dequantize_all(kType, q);
  check_dequant_exact(q.data(), 16, 110, decode, y.data());
}

TEST_CASE("Q3_K: dequantize saturated fields bit-exactly", "[kquant]") {
  check_extreme_fields(kType);
}

TEST_CASE("Q3_K: quantization puts every element on its nearest level", "[kquant]") {
  Rng rng(2);
  const std::vector<float> x = rng.normals(4096, 1.0f);
  const double rmse = round_trip(kType, x, 1024);
  INFO("rmse " << rmse);
  CHECK(rmse < 0.17);  // regression guard: observed 0.149 sigma
  std::vector<float> u(2048);
  // Uniform data on [-2, 5]: symmetric 8 levels over max |x| = 5: step 5/4, step/sqrt(12) = 0.36.
  for (auto& v : u) v = rng.uniform(-2.0f, 5.0f);
  const double rmse_u = round_trip(kType, u, 512);
  INFO("uniform rmse " << rmse_u);
  CHECK(rmse_u < 0.36);
}

TEST_CASE("Q3_K: edge blocks", "[kquant]") {
  check_edge_blocks(kType);
}

TEST_CASE("Q3_K: importance weights lower the weighted error", "[kquant]") {
  check_imatrix_helps(kType);
}

TEST_CASE("Q3_K: dot with Q8_K matches the dequantized product", "[kquant]") {
  check_dot_random(kType);
}

TEST_CASE("Q3_K: dot with Q8_K is exact on an integer-valued case", "[kquant]") {
  alignas(4) uint8_t blk[110] = {};
  hand_block(blk, 1.0f);
  std::vector<float> a(256);
  for (int e = 0; e < 256; ++e) a[size_t(e)] = float((e * 37) % 255 - 127);
  const auto y = make_q8_k(a.data(), 256);
  REQUIRE(std::fabs(y[0].d) == 1.0f);
  int64_t expect = 0;
  for (int e = 0; e < 256; ++e) {
    const int level = (e % 128) / 32 - (e < 128 ? 0 : 4);
    expect += int64_t(y[0].qs[e]) * level * (e < 128 ? 1 : 2);
  }
  REQUIRE(dot_q3_k_q8_k(256, blk, y.data()) == float(y[0].d) * float(expect));
}

TEST_CASE("Q3_K: rows that are not whole blocks throw", "[kquant]") {
  check_bad_lengths(kType);
}
