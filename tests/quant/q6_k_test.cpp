// Tests for quant/q6_k: byte-level dequantization, quantization bounds and edge blocks, dot with Q8_K, imatrix.
#include "quant/q6_k.h"

#include "kquant_test_util.h"

using namespace kq;
using namespace kq::test;

namespace {

// Reads element e straight from the 210 block bytes: ql @0, qh @128, int8 scales @192, d @208.
Elem decode(const uint8_t* blk, int e) {
  const float d = read_f16(blk + 208);
  const int sc = int8_t(blk[192 + e / 16]);
  const int h = e / 128, r = e % 128, k = r / 32, l = r % 32;
  const uint8_t lb = blk[64 * h + 32 * (k % 2) + l];
  const int low4 = k < 2 ? (lb & 0x0F) : (lb >> 4);
  const int high2 = (blk[128 + 32 * h + l] >> (2 * k)) & 3;
  Elem el;
  el.a = d * float(sc);
  el.q = (low4 | (high2 << 4)) - 32;
  el.qmin = -32;
  el.qmax = 31;
  el.ea = double(d) * sc;
  return el;
}

const KType kType{210, decode, {208}, quantize_row_q6_k, dequantize_row_q6_k, dot_q6_k_q8_k};

// Builds the hand-checked block: low nibbles 1 / high nibbles 2, high pairs k for group k, scale j - 8.
void hand_block(uint8_t* blk, float d) {
  for (int i = 0; i < 128; ++i) blk[i] = 0x21;
  for (int i = 0; i < 64; ++i) blk[128 + i] = 0xE4;
  for (int j = 0; j < 16; ++j) blk[192 + j] = uint8_t(int8_t(j - 8));
  write_f16(blk + 208, d);
}

// Level (q - 32) of element e in hand_block.
int hand_level(int e) {
  const int k = (e % 128) / 32;
  return ((k < 2 ? 1 : 2) | (k << 4)) - 32;
}

}  // namespace

TEST_CASE("Q6_K: dequantize a hand-built block", "[kquant]") {
  alignas(4) uint8_t blk[210] = {};
  hand_block(blk, 0.5f);
  float y[256];
  dequantize_row_q6_k(blk, y, 256);
  REQUIRE(y[0] == 124.0f);   // 0.5 * -8 * (1 - 32)
  REQUIRE(y[32] == 45.0f);   // 0.5 * -6 * (17 - 32)
  REQUIRE(y[64] == -4.0f);   // 0.5 * -4 * (34 - 32)
  REQUIRE(y[255] == 63.0f);  // 0.5 * 7 * (50 - 32)
  for (int e = 0; e < 256; ++e) REQUIRE(y[e] == 0.5f * float(e / 16 - 8) * float(hand_level(e)));
  check_dequant_exact(blk, 1, 210, decode, y);
}

TEST_CASE("Q6_K: dequantize random blocks bit-exactly", "[kquant]") {
  Rng rng(1);
  const auto q = random_blocks(kType, rng, 16);
  const auto y = dequantize_all(kType, q);
  check_dequant_exact(q.data(), 16, 210, decode, y.data());
}

TEST_CASE("Q6_K: dequantize saturated fields bit-exactly", "[kquant]") {
  check_extreme_fields(kType);
}

TEST_CASE("Q6_K: quantization puts every element on its nearest level", "[kquant]") {
  Rng rng(2);
  const std::vector<float> x = rng.normals(4096, 1.0f);
  const double rmse = round_trip(kType, x, 1024);
  INFO("rmse " << rmse);
  CHECK(rmse < 0.02);  // regression guard: observed 0.0174 sigma
  std::vector<float> u(2048);
  // Uniform data on [-2, 5]: symmetric 64 levels over max |x| = 5: step 5/32, step/sqrt(12) = 0.045.
  for (auto& v : u) v = rng.uniform(-2.0f, 5.0f);
  const double rmse_u = round_trip(kType, u, 512);
  INFO("uniform rmse " << rmse_u);
  CHECK(rmse_u < 0.045);
}

TEST_CASE("Q6_K: edge blocks", "[kquant]") {
  check_edge_blocks(kType);
}

TEST_CASE("Q6_K: importance weights lower the weighted error", "[kquant]") {
  check_imatrix_helps(kType);
}

TEST_CASE("Q6_K: dot with Q8_K matches the dequantized product", "[kquant]") {
  check_dot_random(kType);
}

TEST_CASE("Q6_K: dot with Q8_K is exact on an integer-valued case", "[kquant]") {
  alignas(4) uint8_t blk[210] = {};
  hand_block(blk, 1.0f);
  std::vector<float> a(256);
  for (int e = 0; e < 256; ++e) a[size_t(e)] = float((e * 37) % 255 - 127);
  const auto y = make_q8_k(a.data(), 256);
  REQUIRE(std::fabs(y[0].d) == 1.0f);
  int64_t expect = 0;
  for (int e = 0; e < 256; ++e) expect += int64_t(y[0].qs[e]) * (e / 16 - 8) * hand_level(e);
  REQUIRE(dot_q6_k_q8_k(256, blk, y.data()) == float(y[0].d) * float(expect));
}

TEST_CASE("Q6_K: rows that are not whole blocks throw", "[kquant]") {
  check_bad_lengths(kType);
}
