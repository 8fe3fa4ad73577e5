// Shared checks for the per-type k-quant tests: an element model read from raw bytes, a test-only Q8_K.
#pragma once

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "common/error.h"
#include "common/fp16.h"
#include "quant/q8_k.h"

namespace kq::test {

// One element as the test reads it straight from the block bytes (formats.md B.4):
// value = a*q - b, with a = d*scale and b = dmin*min computed in float32 in that order.
struct Elem {
  float a = 0;   // d * sub-block scale (float32)
  float b = 0;   // dmin * sub-block min (float32), 0 for the symmetric types
  int q = 0;     // signed level (offsets already removed)
  int qmin = 0;  // level range of the type
  int qmax = 0;
  double ea = 0;  // exact d * scale and dmin * min, for exact dot products
  double eb = 0;
  float value() const { return a * float(q) - b; }
};
using Decoder = Elem (*)(const uint8_t* block, int e);

inline float read_f16(const uint8_t* p) {
  return fp16_to_fp32(uint16_t(p[0] | (p[1] << 8)));
}
inline void write_f16(uint8_t* p, float v) {
  const uint16_t h = fp32_to_fp16(v);
  p[0] = uint8_t(h & 0xFF);
  p[1] = uint8_t(h >> 8);
}

// Deterministic generator for data, importance weights and random block bytes.
struct Rng {
  std::mt19937 gen;
  explicit Rng(uint32_t seed) : gen(seed) {}
  float normal() { return std::normal_distribution<float>(0.0f, 1.0f)(gen); }
  float uniform(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(gen); }
  uint8_t byte() { return uint8_t(gen() & 0xFF); }
  std::vector<float> normals(size_t n, float sigma) {
    std::vector<float> v(n);
    for (auto& x : v) x = sigma * normal();
    return v;
  }
};

// Fills nb blocks of random bytes; the caller then overwrites the f16 fields with sane values.
inline std::vector<uint8_t> random_bytes(Rng& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = rng.byte();
  return v;
}

// Test-only Q8_K quantizer written from formats.md B.6, so the dot tests do not depend on q8_k.cpp.
inline std::vector<BlockQ8K> make_q8_k(const float* x, int64_t n) {
  std::vector<BlockQ8K> out(size_t(n / 256));
  for (size_t ib = 0; ib < out.size(); ++ib) {
    BlockQ8K& b = out[ib];
    std::memset(&b, 0, sizeof b);
    const float* xb = x + 256 * ib;
    float max = 0, amax = 0;
    for (int i = 0; i < 256; ++i) {
      if (std::fabs(xb[i]) > amax) {
        amax = std::fabs(xb[i]);
        max = xb[i];
      }
    }
    if (amax == 0) continue;
    const float iscale = -127.0f / max;
    for (int i = 0; i < 256; ++i) b.qs[i] = int8_t(std::min(127, round_ne(iscale * xb[i])));
    for (int j = 0; j < 16; ++j) {
      int s = 0;
      for (int i = 0; i < 16; ++i) s += b.qs[16 * j + i];
      b.bsums[j] = int16_t(s);
    }
    b.d = 1 / iscale;
  }
  return out;
}

// Requires dequantized output to equal the test's own per-element formula bit for bit.
inline void check_dequant_exact(const uint8_t* blocks, int64_t nb, size_t bytes, Decoder dec, const float* out) {
  for (int64_t ib = 0; ib < nb; ++ib) {
    for (int e = 0; e < 256; ++e) {
      const float want = dec(blocks + ib * bytes, e).value();
      const float got = out[ib * 256 + e];
      INFO("block " << ib << " element " << e);
      REQUIRE(std::isfinite(got));
      REQUIRE(float_bits(got) == float_bits(want));
    }
  }
}

// Requires every element to sit on the level of its sub-block's grid nearest to the input. Ties
// and the division's last-bit rounding allow a slack of a few float ulps of the grid's span.
inline void check_nearest_level(const float* x, const float* xhat, const uint8_t* blocks, int64_t nb, size_t bytes,
                                Decoder dec) {
  for (int64_t ib = 0; ib < nb; ++ib) {
    for (int e = 0; e < 256; ++e) {
      const Elem el = dec(blocks + ib * bytes, e);
      const float xi = x[ib * 256 + e];
      const float got = xhat[ib * 256 + e];
      REQUIRE(std::isfinite(got));
      if (el.a == 0) continue;  // a zero scale leaves the search's levels; every level decodes the same
      double best = INFINITY;
      for (int q = el.qmin; q <= el.qmax; ++q) {
        Elem c = el;
        c.q = q;
        best = std::min(best, std::fabs(double(xi) - double(c.value())));
      }
      const double span = std::fabs(double(el.a)) * (el.qmax - el.qmin + 1) + std::fabs(double(el.b)) + std::fabs(xi);
      INFO("block " << ib << " element " << e << " x " << xi << " xhat " << got);
      REQUIRE(std::fabs(double(xi) - double(got)) <= best + 1e-6 * span);
    }
  }
}

// Returns sum over rows of sum_i w_i (x_i - xhat_i)^2.
inline double weighted_sse(const std::vector<float>& x, const std::vector<float>& xhat, const std::vector<float>& w) {
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = double(x[i]) - double(xhat[i]);
    s += double(w[i % w.size()]) * d * d;
  }
  return s;
}

// Checks a dot product against the exact value implied by the blocks (integer sums, exact scales)
// and against sum(dequant(x) * dequant(y)). Every float step of the kernel (scale products,
// int->float, block term products, subtraction, accumulation over nb blocks) rounds at most once,
// each by <= 2^-24 relative of a term bounded by T = sum_e (|ea q| + |eb|) |y_e|: hence (8 + nb) 2^-24 T.
inline void check_dot(float dot, const uint8_t* xblocks, size_t bytes, Decoder dec, const std::vector<BlockQ8K>& y) {
  double exact = 0, via_dequant = 0, magnitude = 0;
  const int64_t nb = int64_t(y.size());
  for (int64_t ib = 0; ib < nb; ++ib) {
    for (int e = 0; e < 256; ++e) {
      const Elem el = dec(xblocks + ib * bytes, e);
      const double ye = double(y[ib].d) * y[ib].qs[e];
      exact += (el.ea * el.q - el.eb) * ye;
      via_dequant += double(el.value()) * double(float(y[ib].d * float(y[ib].qs[e])));
      magnitude += (std::fabs(el.ea * el.q) + std::fabs(el.eb)) * std::fabs(ye);
    }
  }
  const double tol = (8.0 + double(nb)) * std::ldexp(1.0, -24) * magnitude;
  INFO("dot " << dot << " exact " << exact << " dequant " << via_dequant << " tol " << tol);
  REQUIRE(std::isfinite(dot));
  REQUIRE(std::fabs(double(dot) - exact) <= tol);
  // The dequantized route adds one rounding per element value (a*q - b) and per y value.
  REQUIRE(std::fabs(double(dot) - via_dequant) <= tol + 4 * std::ldexp(1.0, -24) * magnitude);
}

// The entry points of one k-quant type plus the test's own byte-level decoder.
struct KType {
  size_t bytes;                 // bytes per 256-element block
  Decoder dec;                  // test-side element model (formats.md B.4)
  std::vector<int> f16_fields;  // byte offsets of the f16 scales, to keep random blocks finite
  void (*quantize)(const float*, void*, int64_t, const float*);
  void (*dequantize)(const void*, float*, int64_t);
  float (*dot)(int64_t, const void*, const void*);
};

// Quantizes rows of n values each (x.size() a multiple of n); imp is null or n column weights.
inline std::vector<uint8_t> quantize_rows(const KType& t, const std::vector<float>& x, int64_t n,
                                          const float* imp = nullptr) {
  const size_t row_bytes = size_t(n / 256) * t.bytes;
  std::vector<uint8_t> q(x.size() / size_t(n) * row_bytes);
  for (size_t r = 0; r < x.size() / size_t(n); ++r)
    t.quantize(x.data() + r * size_t(n), q.data() + r * row_bytes, n, imp);
  return q;
}

inline std::vector<float> dequantize_all(const KType& t, const std::vector<uint8_t>& q) {
  const int64_t nb = int64_t(q.size() / t.bytes);
  std::vector<float> y(size_t(nb) * 256);
  t.dequantize(q.data(), y.data(), nb * 256);
  return y;
}

// Returns nb blocks of random bytes whose f16 fields hold finite values in +-[2^-10, 4].
inline std::vector<uint8_t> random_blocks(const KType& t, Rng& rng, int nb) {
  std::vector<uint8_t> q = random_bytes(rng, size_t(nb) * t.bytes);
  for (int ib = 0; ib < nb; ++ib) {
    for (int off : t.f16_fields) {
      const float mag = std::ldexp(1.0f, int(rng.gen() % 12) - 10) * rng.uniform(1.0f, 2.0f);
      write_f16(&q[size_t(ib) * t.bytes + size_t(off)], (rng.gen() & 1) ? mag : -mag);
    }
  }
  return q;
}

// Quantizes and dequantizes x (rows of n), requires nearest-level placement; returns the RMSE.
inline double round_trip(const KType& t, const std::vector<float>& x, int64_t n) {
  const auto q = quantize_rows(t, x, n);
  const auto y = dequantize_all(t, q);
  check_nearest_level(x.data(), y.data(), q.data(), int64_t(q.size() / t.bytes), t.bytes, t.dec);
  double se = 0;
  for (size_t i = 0; i < x.size(); ++i) se += (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
  return std::sqrt(se / double(x.size()));
}

// Blocks with saturated fields (every byte 0x00 / 0x7F / 0x80 / 0xFF, f16 scales at +-65504 or the
// smallest subnormal) decode to finite values equal to the byte formula.
inline void check_extreme_fields(const KType& t) {
  for (uint8_t fill : {uint8_t(0x00), uint8_t(0x7F), uint8_t(0x80), uint8_t(0xFF)}) {
    for (float scale : {65504.0f, -65504.0f, std::ldexp(1.0f, -24)}) {
      std::vector<uint8_t> q(2 * t.bytes, fill);
      for (int ib = 0; ib < 2; ++ib) {
        for (int off : t.f16_fields) write_f16(&q[size_t(ib) * t.bytes + size_t(off)], ib ? -scale : scale);
      }
      const auto y = dequantize_all(t, q);
      INFO("fill " << int(fill) << " scale " << scale);
      check_dequant_exact(q.data(), 2, t.bytes, t.dec, y.data());
    }
  }
}

// Edge blocks: zeros, constants, one outlier, huge and subnormal-scale inputs.
inline void check_edge_blocks(const KType& t) {
  SECTION("all zero dequantizes to exact zeros") {
    // Zero scales times offset levels give -0.0 for the symmetric types (as in ggml): still zero.
    const std::vector<float> x(512, 0.0f);
    const auto y = dequantize_all(t, quantize_rows(t, x, 512));
    for (float v : y) REQUIRE(v == 0.0f);
  }
  SECTION("a constant block is reproduced to f16 precision") {
    // One f16 rounding of d (2^-11 relative) plus two float products: well inside 2^-10.
    for (float c : {0.37f, -0.37f, 1000.0f, -5.0f}) {
      const std::vector<float> x(256, c);
      const auto y = dequantize_all(t, quantize_rows(t, x, 256));
      for (float v : y) REQUIRE(std::fabs(v - c) <= std::ldexp(std::fabs(c), -10));
    }
  }
  SECTION("one huge outlier keeps its value and every element its nearest level") {
    Rng rng(7);
    std::vector<float> x = rng.normals(512, 0.01f);
    x[37] = 100.0f;
    x[300] = -100.0f;
    const auto q = quantize_rows(t, x, 512);
    const auto y = dequantize_all(t, q);
    check_nearest_level(x.data(), y.data(), q.data(), 2, t.bytes, t.dec);
    REQUIRE(std::fabs(y[37] - 100.0f) <= 2.0f);
    REQUIRE(std::fabs(y[300] + 100.0f) <= 2.0f);
  }
  SECTION("inputs at the f16 limit stay finite and on their nearest level") {
    Rng rng(8);
    std::vector<float> x = rng.normals(512, 20000.0f);
    x[5] = 65504.0f;
    x[400] = -65504.0f;
    const auto q = quantize_rows(t, x, 512);
    const auto y = dequantize_all(t, q);
    check_nearest_level(x.data(), y.data(), q.data(), 2, t.bytes, t.dec);
  }
  SECTION("subnormal-scale inputs give finite values no larger than the input scale") {
    Rng rng(9);
    const std::vector<float> x = rng.normals(512, 1e-30f);
    const auto y = dequantize_all(t, quantize_rows(t, x, 512));
    for (float v : y) {
      REQUIRE(std::isfinite(v));
      REQUIRE(std::fabs(v) <= 1e-28f);
    }
  }
}

// Random non-uniform column importance must lower the importance-weighted error.
inline void check_imatrix_helps(const KType& t) {
  Rng rng(11);
  const int64_t n = 1024;
  const std::vector<float> x = rng.normals(size_t(n) * 8, 1.0f);
  std::vector<float> qw(static_cast<size_t>(n));
  for (auto& w : qw) w = std::exp(2.0f * rng.normal());  // spans several orders of magnitude
  const auto plain = dequantize_all(t, quantize_rows(t, x, n));
  const auto weighted = dequantize_all(t, quantize_rows(t, x, n, qw.data()));
  const double e_plain = weighted_sse(x, plain, qw);
  const double e_weighted = weighted_sse(x, weighted, qw);
  INFO("weighted SSE without imatrix " << e_plain << ", with " << e_weighted);
  REQUIRE(e_weighted < e_plain);
  for (float v : weighted) REQUIRE(std::isfinite(v));
}

// Dot products of quantized random rows, and of random byte blocks, against check_dot.
inline void check_dot_random(const KType& t) {
  Rng rng(13);
  const int64_t n = 1024;
  for (int rep = 0; rep < 8; ++rep) {
    const std::vector<float> x = rng.normals(size_t(n), 1.0f);
    const std::vector<float> a = rng.normals(size_t(n), 3.0f);
    const auto xq = rep % 2 ? random_blocks(t, rng, int(n / 256)) : quantize_rows(t, x, n);
    const auto yq = make_q8_k(a.data(), n);
    check_dot(t.dot(n, xq.data(), yq.data()), xq.data(), t.bytes, t.dec, yq);
  }
}

// Rows that are not a whole number of blocks are refused by every entry point.
inline void check_bad_lengths(const KType& t) {
  std::vector<float> x(1024, 1.0f);
  std::vector<uint8_t> q(4 * t.bytes + 64);
  const auto y = make_q8_k(x.data(), 1024);
  for (int64_t n : {1, 255, 257, 300, 1000, -256}) {
    REQUIRE_THROWS_AS(t.quantize(x.data(), q.data(), n, nullptr), kq::Error);
    REQUIRE_THROWS_AS(t.dequantize(q.data(), x.data(), n), kq::Error);
    REQUIRE_THROWS_AS(t.dot(n, q.data(), y.data()), kq::Error);
  }
}

}  // namespace kq::test
