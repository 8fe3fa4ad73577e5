// Tests for quant/q4_k: byte-level dequantization, quantization bounds and edge blocks, dot with Q8_K, imatrix.
#include "quant/q4_k.h"

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

// Reads element e straight from the 144 block bytes: d @0, dmin @2, scales @4, qs @16.
Elem decode(const uint8_t* blk, int e) {
  const float d = read_f16(blk), dmin = read_f16(blk + 2);
  int sc, m;
  scale_min(blk + 4, e / 32, &sc, &m);
  const int c = e / 64, r = e % 64;
  Elem el;
  el.a = d * float(sc);
  el.b = dmin * float(m);
  el.q = r < 32 ? (blk[16 + 32 * c + r] & 0x0F) : (blk[16 + 32 * c + r - 32] >> 4);
  el.qmin = 0;
  el.qmax = 15;
  el.ea = double(d) * sc;
  el.eb = double(dmin) * m;
  return el;
}

const KType kType{144, decode, {0, 2}, quantize_row_q4_k, dequantize_row_q4_k, dot_q4_k_q8_k};

// Scale bytes giving sc = {1, 2, 3, 4, 17, 0, 0, 0} and m = {5, 0, 0, 0, 34, 0, 0, 0}.
void hand_scales(uint8_t* b) {
  const uint8_t bytes[12] = {0x41, 2, 3, 4, 0x85, 0, 0, 0, 0x21, 0, 0, 0};
  for (int i = 0; i < 12; ++i) b[i] = bytes[i];
}

}  // namespace

TEST_CASE("Q4_K: dequantize a hand-built block", "[kquant]") {
  alignas(4) uint8_t blk[144] = {};
  write_f16(blk, 0.5f);
  write_f16(blk + 2, 0.125f);
  hand_scales(blk + 4);
  for (int i = 0; i < 128; ++i) blk[16 + i] = 0x73;  // even sub-blocks level 3, odd ones level 7
  float y[256];
  dequantize_row_q4_k(blk, y, 256);
  REQUIRE(y[0] == 0.5f * 1 * 3 - 0.125f * 5);
  REQUIRE(y[32] == 0.5f * 2 * 7);
  REQUIRE(y[128] == 0.5f * 17 * 3 - 0.125f * 34);
  REQUIRE(y[255] == 0.0f);  // sub-block 7: scale 0, min 0
  check_dequant_exact(blk, 1, 144, decode, y);
}

TEST_CASE("Q4_K: dequantize random blocks bit-exactly", "[kquant]") {
  Rng rng(1);
  const auto q = random_blocks(kType, rng, 16);
  const auto y = dequantize_all(kType, q);
  check_dequant_exact(q.data(), 16, 144, decode, y.data());
}

TEST_CASE("Q4_K: dequantize saturated fields bit-exactly", "[kquant]") {
  check_extreme_fields(kType);
}

TEST_CASE("Q4_K: quantization puts every element on its nearest level", "[kquant]") {
  Rng rng(2);
  const std::vector<float> x = rng.normals(4096, 1.0f);
  const double rmse = round_trip(kType, x, 1024);
  INFO("rmse " << rmse);
  CHECK(rmse < 0.08);  // regression guard: observed 0.0705 sigma
  std::vector<float> u(2048);
  // Uniform data on [-2, 5]: the plain min-to-max grid has step 7/15 and RMSE step/sqrt(12) = 0.135.
  for (auto& v : u) v = rng.uniform(-2.0f, 5.0f);
  const double rmse_u = round_trip(kType, u, 512);
  INFO("uniform rmse " << rmse_u);
  CHECK(rmse_u < 0.135);
}

TEST_CASE("Q4_K: edge blocks", "[kquant]") {
  check_edge_blocks(kType);
}

TEST_CASE("Q4_K: importance weights lower the weighted error", "[kquant]") {
  check_imatrix_helps(kType);
}

TEST_CASE("Q4_K: dot with Q8_K matches the dequantized product", "[kquant]") {
  check_dot_random(kType);
}

TEST_CASE("Q4_K: dot with Q8_K is exact on an integer-valued case", "[kquant]") {
  alignas(4) uint8_t blk[144] = {};
  write_f16(blk, 1.0f);
  write_f16(blk + 2, 1.0f);
  hand_scales(blk + 4);
  for (int i = 0; i < 128; ++i) blk[16 + i] = 0x73;
  const int sc[8] = {1, 2, 3, 4, 17, 0, 0, 0}, m[8] = {5, 0, 0, 0, 34, 0, 0, 0};
  std::vector<float> a(256);
  for (int e = 0; e < 256; ++e) a[size_t(e)] = float((e * 37) % 255 - 127);
  const auto y = make_q8_k(a.data(), 256);
  REQUIRE(std::fabs(y[0].d) == 1.0f);
  int64_t expect = 0;
  for (int e = 0; e < 256; ++e) expect += int64_t(y[0].qs[e]) * (sc[e / 32] * ((e / 32) % 2 ? 7 : 3) - m[e / 32]);
  REQUIRE(dot_q4_k_q8_k(256, blk, y.data()) == float(y[0].d) * float(expect));
}

TEST_CASE("Q4_K: rows that are not whole blocks throw", "[kquant]") {
  check_bad_lengths(kType);
}
