// Tests for quant/iq4_xs.*: 6-bit scale packing, super-block scale search, edge blocks, dot with Q8_K.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

#include "quant/iq4_xs.h"
#include "quant/q8_k.h"
#include "tests/quant/quant_test_util.h"

using namespace kq;
using namespace kq::legacy_test;

namespace {

BlockIQ4XS block_at(const std::vector<uint8_t>& q, size_t b) {
  BlockIQ4XS blk;
  std::memcpy(&blk, q.data() + b * sizeof blk, sizeof blk);
  return blk;
}

// Reads the 6-bit scale of sub-block ib straight from the bytes (formats.md B.5).
int scale_of(const BlockIQ4XS& b, int ib) {
  return ((b.scales_l[ib / 2] >> (4 * (ib % 2))) & 15) | (((b.scales_h >> (2 * ib)) & 3) << 4);
}

// Writes 6-bit scales into the byte fields the way formats.md B.5 describes.
void put_scales(BlockIQ4XS& b, const int* ls) {
  b.scales_h = 0;
  std::memset(b.scales_l, 0, 4);
  for (int ib = 0; ib < 8; ++ib) {
    b.scales_l[ib / 2] = uint8_t(b.scales_l[ib / 2] | ((ls[ib] & 15) << (4 * (ib % 2))));
    b.scales_h = uint16_t(b.scales_h | ((ls[ib] >> 4) << (2 * ib)));
  }
}

}  // namespace

TEST_CASE("IQ4_XS dequantizes hand-built bytes", "[legacy]") {
  BlockIQ4XS b;
  set_f16(b.d, 0.125f);
  const int ls[8] = {0, 63, 32, 33, 31, 17, 48, 5};
  put_scales(b, ls);
  for (int i = 0; i < 128; ++i) b.qs[i] = uint8_t((i * 7) & 255);
  uint8_t raw[136];
  std::memcpy(raw, &b, 136);
  REQUIRE(raw[2] == uint8_t(b.scales_h & 0xFF));  // scales_h at offset 2, scales_l at 4, qs at 8
  REQUIRE(raw[4] == b.scales_l[0]);
  REQUIRE(raw[8] == b.qs[0]);
  float y[256];
  dequantize_row_iq4_xs(raw, y, 256);
  for (int ib = 0; ib < 8; ++ib) {
    REQUIRE(scale_of(b, ib) == ls[ib]);
    const float dl = 0.125f * float(ls[ib] - 32);
    for (int j = 0; j < 16; ++j) {
      const uint8_t q = b.qs[16 * ib + j];
      REQUIRE(y[32 * ib + j] == dl * float(kIq4Levels[q & 15]));
      REQUIRE(y[32 * ib + j + 16] == dl * float(kIq4Levels[q >> 4]));
    }
  }
}

TEST_CASE("IQ4_XS reproduces a super-block that is exactly d * l_ib * table", "[legacy]") {
  // One sub-block at l = -32 fixes d = 1/64; the others are multiples of it; l = 0 is a zero block.
  const int l[8] = {-32, 31, 5, -7, 0, 1, -1, 17};
  std::vector<float> x(256);
  for (int ib = 0; ib < 8; ++ib)
    for (int j = 0; j < 32; ++j) x[size_t(32 * ib + j)] = float(l[ib]) / 64.0f * float(kIq4Levels[(j * 5 + ib) % 16]);
  const auto q = quantize(QType::IQ4_XS, x);
  const auto blk = block_at(q, 0);
  REQUIRE(fp16_to_fp32(blk.d) == 1.0f / 64.0f);
  for (int ib = 0; ib < 8; ++ib)
    if (l[ib] != 0) REQUIRE(scale_of(blk, ib) == l[ib] + 32);
  REQUIRE(dequantize(QType::IQ4_XS, q, 256) == x);
}

TEST_CASE("IQ4_XS search: the extreme sub-block gets -32, every element a nearest level", "[legacy]") {
  Rng rng(12);
  for (float sigma : {1e-3f, 0.05f, 30.0f}) {
    auto x = rng.normals(4096, sigma);
    for (size_t i = 0; i < x.size(); i += 97) x[i] *= 5.0f;  // outliers
    const auto q = quantize(QType::IQ4_XS, x);
    const auto y = dequantize(QType::IQ4_XS, q, 4096);
    for (size_t b = 0; b < x.size() / 256; ++b) {
      const auto blk = block_at(q, b);
      const float d = fp16_to_fp32(blk.d);
      bool has_extreme = false;
      for (int ib = 0; ib < 8; ++ib) {
        has_extreme = has_extreme || scale_of(blk, ib) == 0;
        const size_t off = 256 * b + 32 * size_t(ib);
        const int mult = scale_of(blk, ib) - 32;
        check_iq4_nearest(&x[off], &y[off], d * float(mult), f16_scale_error(d, mult), "IQ4_XS");
      }
      REQUIRE(has_extreme);
    }
  }
}

TEST_CASE("IQ4_XS edge blocks", "[legacy]") {
  // Loose sanity bound, as for IQ4_NL, plus half a 6-bit scale step (1/64 of the largest scale).
  check_edge_rows(QType::IQ4_XS, [](double amax) { return 0.35 * amax + 127 * 0x1p-24; });
  const auto q = quantize(QType::IQ4_XS, std::vector<float>(256, 0.0f));
  const auto blk = block_at(q, 0);
  REQUIRE(fp16_to_fp32(blk.d) == 0.0f);
  for (uint8_t b : blk.qs) REQUIRE(b == 0x88);
  for (float v : dequantize(QType::IQ4_XS, q, 256)) REQUIRE(v == 0.0f);
}

TEST_CASE("IQ4_XS imatrix lowers the weighted error", "[legacy]") { check_imatrix_lowers_error(QType::IQ4_XS); }

TEST_CASE("IQ4_XS x Q8_K dot: exact integer sums, derived tolerance on random rows", "[legacy]") {
  std::vector<BlockIQ4XS> x(2);
  std::vector<BlockQ8K> y(2);
  double expect = 0;
  for (int b = 0; b < 2; ++b) {
    set_f16(x[b].d, b ? 0.5f : 1.0f);
    y[b].d = b ? 0.25f : 1.0f;
    const int ls[8] = {33, 31, 0, 63, 32, 40, 24, 1};
    put_scales(x[b], ls);
    for (int i = 0; i < 128; ++i) x[b].qs[i] = uint8_t((i * 11 + b) & 255);
    for (int i = 0; i < 256; ++i) y[b].qs[i] = int8_t(b ? (i % 2 ? 127 : -128) : (i * 3) % 255 - 127);
    std::memset(y[b].bsums, 0, sizeof y[b].bsums);  // not used by this dot
    for (int ib = 0; ib < 8; ++ib) {
      int sumi = 0;
      for (int j = 0; j < 16; ++j) {
        const uint8_t q = x[b].qs[16 * ib + j];
        sumi += kIq4Levels[q & 15] * y[b].qs[32 * ib + j] + kIq4Levels[q >> 4] * y[b].qs[32 * ib + j + 16];
      }
      expect += double(sumi) * (ls[ib] - 32) * (b ? 0.125 : 1.0);
    }
  }
  REQUIRE(dot_iq4_xs_q8_k(512, x.data(), y.data()) == float(expect));
  // d_x*d_y, *(ls-32), *sumi: three roundings per sub-block term, eight terms per block.
  check_dot_random(QType::IQ4_XS, 3, 8);
}

TEST_CASE("IQ4_XS rejects rows that are not whole blocks", "[legacy]") { check_bad_lengths(QType::IQ4_XS); }
