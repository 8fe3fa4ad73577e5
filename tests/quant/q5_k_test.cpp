// Tests for quant/q5_k: byte-level dequantization, quantization bounds and edge blocks, dot with Q8_K, imatrix.
#include "quant/q5_k.h"

#include "kquant_test_util.h"

using namespace kq;
using namespace kq::test;

namespace {

// Reads sub-block j's 6-bit scale and min from the 12 scale bytes (formats.md B.4 table).
void scale_min(const uint8_t* b, int j, int* sc, int* m) {
  if (j < 4) {
    *sc = b[j] & 63;
    *m = b[j + 4] & 63;
  } else {
    *sc = (b[j + 4] & 0x0F) | ((b[j - 4] >> 6) << 4);
    *m = (b[j + 4] >> 4) | ((b[j] >> 6) << 4);
  }
}

// Reads element e straight from the 176 block bytes: d @0, dmin @2, scales @4, qh @16, qs @48.
Elem decode(const uint8_t* blk, int e) {
  const float d = read_f16(blk), dmin = read_f16(blk + 2);
  int sc, m;
  scale_min(blk + 4, e / 32, &sc, &m);
  const int c = e / 64, r = e % 64;
  Elem el;
  el.a = d * float(sc);
  el.b = dmin * float(m);
  const int low4 = r < 32 ? (blk[48 + 32 * c + r] & 0x0F) : (blk[48 + 32 * c + r - 32] >> 4);
  el.q = low4 | (((blk[16 + e % 32] >> (e / 32)) & 1) << 4);
  el.qmin = 0;
  el.qmax = 31;
  el.ea = double(d) * sc;
  el.eb = double(dmin) * m;
  return el;
}

const KType kType{176, decode, {0, 2}, quantize_row_q5_k, dequantize_row_q5_k, dot_q5_k_q8_k};

// Scale bytes giving sc = {1, 2, 3, 4, 17, 0, 0, 0} and m = {5, 0, 0, 0, 34, 0, 0, 0}.
void hand_scales(uint8_t* b) {
  const uint8_t bytes[12] = {0x41, 2, 3, 4, 0x85, 0, 0, 0, 0x21, 0, 0, 0};
  for (int i = 0; i < 12; ++i) b[i] = bytes[i];
}

}  // namespace

TEST_CASE("Q5_K: dequantize a hand-built block", "[kquant]") {
  alignas(4) uint8_t blk[176] = {};
  write_f16(blk, 0.5f);
  write_f16(blk + 2, 0.125f);
  hand_scales(blk + 4);
  for (int i = 0; i < 128; ++i) blk[48 + i] = 0x73;  // low bits: even sub-blocks 3, odd ones 7
  for (int i = 0; i < 32; ++i) blk[16 + i] = 0x02;   // bit 4 set for elements 32..63 only
  float y[256];
  dequantize_row_q5_k(blk, y, 256);
  REQUIRE(y[0] == 0.5f * 1 * 3 - 0.125f * 5);
  REQUIRE(y[32] == 0.5f * 2 * 23);
  REQUIRE(y[64] == 0.5f * 3 * 3);
  REQUIRE(y[128] == 0.5f * 17 * 3 - 0.125f * 34);
  REQUIRE(y[255] == 0.0f);  // sub-block 7: scale 0, min 0
  check_dequant_exact(blk, 1, 176, decode, y);
}

TEST_CASE("Q5_K: dequantize random blocks bit-exactly", "[kquant]") {
  Rng rng(1);
  const auto q = random_blocks(kType, rng, 16);
  const auto y = dequantize_all(kType, q);
  check_dequant_exact(q.data(), 16, 176, decode, y.data());
}

TEST_CASE("Q5_K: dequantize saturated fields bit-exactly", "[kquant]") {
  check_extreme_fields(kType);
}

TEST_CASE("Q5_K: quantization puts every element on its nearest level", "[kquant]") {
  Rng rng(2);
  const std::vector<float> x = rng.normals(4096, 1.0f);
  const double rmse = round_trip(kType, x, 1024);
  INFO("rmse " << rmse);
  CHECK(rmse < 0.04);  // regression guard: observed 0.0354 sigma
  std::vector<float> u(2048);
  // Uniform data on [-2, 5]: the plain min-to-max grid has step 7/31 and RMSE step/sqrt(12) = 0.065.
  for (auto& v : u) v = rng.uniform(-2.0f, 5.0f);
  const double rmse_u = round_trip(kType, u, 512);
  INFO("uniform rmse " << rmse_u);
  CHECK(rmse_u < 0.065);
}

TEST_CASE("Q5_K: edge blocks", "[kquant]") {
  check_edge_blocks(kType);
}

TEST_CASE("Q5_K: importance weights lower the weighted error", "[kquant]") {
  check_imatrix_helps(kType);
}

TEST_CASE("Q5_K: dot with Q8_K matches the dequantized product", "[kquant]") {
  check_dot_random(kType);
}

TEST_CASE("Q5_K: dot with Q8_K is exact on an integer-valued case", "[kquant]") {
  alignas(4) uint8_t blk[176] = {};
  write_f16(blk, 1.0f);
  write_f16(blk + 2, 1.0f);
  hand_scales(blk + 4);
  for (int i = 0; i < 128; ++i) blk[48 + i] = 0x73;
  for (int i = 0; i < 32; ++i) blk[16 + i] = 0x02;
  const int sc[8] = {1, 2, 3, 4, 17, 0, 0, 0}, m[8] = {5, 0, 0, 0, 34, 0, 0, 0};
  std::vector<float> a(256);
  for (int e = 0; e < 256; ++e) a[size_t(e)] = float((e * 37) % 255 - 127);
  const auto y = make_q8_k(a.data(), 256);
  REQUIRE(std::fabs(y[0].d) == 1.0f);
  int64_t expect = 0;
  for (int e = 0; e < 256; ++e)
    expect += int64_t(y[0].qs[e]) * (sc[e / 32] * ((e / 32) % 2 ? (e / 32 == 1 ? 23 : 7) : 3) - m[e / 32]);
  REQUIRE(dot_q5_k_q8_k(256, blk, y.data()) == float(y[0].d) * float(expect));
}

TEST_CASE("Q5_K: rows that are not whole blocks throw", "[kquant]") {
  check_bad_lengths(kType);
}
