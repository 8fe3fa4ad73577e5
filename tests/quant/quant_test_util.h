// Shared helpers for the legacy / IQ4 / activation-type tests: data, registry round trips, common checks.
#pragma once

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/fp16.h"
#include "quant/registry.h"

namespace kq::legacy_test {

// Half a unit in the last place of a stored f16 scale, relative: the worst rounding of d.
constexpr double kF16Rel = 0x1p-11;
// Relative rounding of one f32 operation.
constexpr double kF32Rel = 0x1p-24;

// Deterministic data: mt19937_64 + Box-Muller, so every standard library produces the same values.
class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  double uniform() { return double(gen_() >> 11) * 0x1p-53; }
  float normal() {
    const double u1 = uniform() + 0x1p-53, u2 = uniform();
    return float(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }
  std::vector<float> normals(int64_t n, float sigma) {
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = sigma * normal();
    return v;
  }
  // Positive, strongly non-uniform importance (log-normal, spread about e^±3).
  std::vector<float> importance(int64_t n) {
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = std::exp(1.5f * normal());
    return v;
  }
  uint8_t byte() { return uint8_t(gen_() & 0xFF); }

 private:
  std::mt19937_64 gen_;
};

inline const TypeTraits& traits(QType t) { return type_traits(t); }

// Quantizes one row through the registry; the buffer starts as garbage so unwritten bytes show.
inline std::vector<uint8_t> quantize(QType t, const std::vector<float>& x, const float* imp = nullptr) {
  std::vector<uint8_t> q(row_size(t, int64_t(x.size())), 0xA5);
  traits(t).from_float(x.data(), q.data(), int64_t(x.size()), imp);
  return q;
}

inline std::vector<float> dequantize(QType t, const std::vector<uint8_t>& q, int64_t n) {
  std::vector<float> y(size_t(n), std::numeric_limits<float>::quiet_NaN());
  traits(t).to_float(q.data(), y.data(), n);
  return y;
}

inline std::vector<float> round_trip(QType t, const std::vector<float>& x, const float* imp = nullptr) {
  return dequantize(t, quantize(t, x, imp), int64_t(x.size()));
}

inline double weighted_sse(const std::vector<float>& x, const std::vector<float>& y, const std::vector<float>& w) {
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += double(w[i]) * (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
  return s;
}

inline void set_f16(uint16_t& field, float v) { field = fp32_to_fp16(v); }

// A row of n values (n a multiple of 256) filled block by block with edge patterns.
struct EdgeRow {
  std::string name;
  std::vector<float> x;
};

inline std::vector<EdgeRow> edge_rows(int64_t n) {
  std::vector<EdgeRow> rows;
  Rng rng(77);
  rows.push_back({"all zero", std::vector<float>(size_t(n), 0.0f)});
  rows.push_back({"constant positive", std::vector<float>(size_t(n), 0.7f)});
  rows.push_back({"constant negative", std::vector<float>(size_t(n), -3.25f)});
  auto outlier = rng.normals(n, 0.01f);
  for (int64_t i = 5; i < n; i += 37) outlier[size_t(i)] = (i % 2 ? 1000.0f : -1000.0f);
  rows.push_back({"one huge outlier per block", outlier});
  auto extreme = rng.normals(n, 20000.0f);
  for (int64_t i = 0; i < n; i += 7) extreme[size_t(i)] = (i % 14 ? 65504.0f : -65504.0f);
  for (auto& v : extreme) v = std::fmax(-65504.0f, std::fmin(65504.0f, v));
  rows.push_back({"f16-limit magnitudes", extreme});
  rows.push_back({"subnormal scale (1e-30)", rng.normals(n, 1e-30f)});
  rows.push_back({"below f32 min normal (1e-39)", rng.normals(n, 1e-39f)});
  auto mixed = rng.normals(n, 1.0f);
  for (int64_t i = 0; i < n; i += 64)
    for (int64_t j = i; j < i + 32; ++j) mixed[size_t(j)] = 0.0f;  // zero blocks between normal ones
  rows.push_back({"zero blocks between normal blocks", mixed});
  return rows;
}

// Runs an edge row through quantize/dequantize: finite, exact zeros for zero input, and the
// per-element bound bound(x_block_amax) holds (callers derive it from the type's step).
inline void check_edge_rows(QType t, const std::function<double(double amax)>& bound) {
  const int64_t n = 512;
  const int64_t bs = traits(t).block_size;
  for (const auto& row : edge_rows(n)) {
    INFO(traits(t).name << ": " << row.name);
    const auto y = round_trip(t, row.x);
    for (int64_t b = 0; b < n; b += bs) {
      double amax = 0;
      for (int64_t i = b; i < b + bs; ++i) amax = std::fmax(amax, std::fabs(double(row.x[size_t(i)])));
      for (int64_t i = b; i < b + bs; ++i) {
        INFO("element " << i << " x " << row.x[size_t(i)] << " y " << y[size_t(i)]);
        REQUIRE(std::isfinite(y[size_t(i)]));
        if (amax == 0) REQUIRE(y[size_t(i)] == 0.0f);
        REQUIRE(std::fabs(double(y[size_t(i)]) - row.x[size_t(i)]) <= bound(amax));
      }
    }
  }
}

// Rows that are not a whole number of blocks are rejected by every entry point.
inline void check_bad_lengths(QType t) {
  const TypeTraits& tt = traits(t);
  const int64_t n = tt.block_size + 1;
  std::vector<float> x(size_t(n) * 2, 1.0f);
  std::vector<uint8_t> q(size_t(tt.type_size) * 4, 0);
  std::vector<float> y(size_t(n) * 2);
  REQUIRE_THROWS_AS(tt.from_float(x.data(), q.data(), n, nullptr), kq::Error);
  REQUIRE_THROWS_AS(tt.to_float(q.data(), y.data(), n), kq::Error);
  REQUIRE_THROWS_AS(tt.from_float(x.data(), q.data(), tt.block_size / 2, nullptr), kq::Error);
  if (tt.vec_dot) REQUIRE_THROWS_AS(tt.vec_dot(n, q.data(), q.data()), kq::Error);
}

// With random non-uniform importance qw, the qw-weighted squared error must drop when the
// quantizer is given qw (summed over several rows; each row n values).
inline void check_imatrix_lowers_error(QType t) {
  const int64_t n = 1024;
  Rng rng(4242);
  double with = 0, without = 0;
  for (int r = 0; r < 8; ++r) {
    const auto x = rng.normals(n, 0.05f);
    const auto qw = rng.importance(n);
    without += weighted_sse(x, round_trip(t, x), qw);
    with += weighted_sse(x, round_trip(t, x, qw.data()), qw);
  }
  INFO(traits(t).name << " weighted SSE with imatrix " << with << " without " << without);
  REQUIRE(with < without);
}

// Compares vec_dot with the double-precision dot of the dequantized rows. Each block adds one
// float term with at most `roundings_per_term` roundings, and the float accumulation of nterms
// terms adds up to nterms roundings of the running sum; both are bounded by sum|x̂ŷ|. extra(i)
// adds a per-block allowance (Q8_1's stored sum).
inline void check_dot_random(QType t, int roundings_per_term, int terms_per_block = 1,
                             const std::function<double(const std::vector<uint8_t>&, const std::vector<uint8_t>&,
                                                        int64_t)>& extra = nullptr) {
  const TypeTraits& tt = traits(t);
  const TypeTraits& act = traits(tt.vec_dot_type);
  Rng rng(99);
  for (int64_t n : {int64_t(256), int64_t(1024), int64_t(4096)}) {
    for (int rep = 0; rep < 4; ++rep) {
      auto x = rng.normals(n, 0.02f);
      x[size_t(rep * 3)] = 0.5f;  // an outlier in the weights
      const auto y = rng.normals(n, 1.0f);
      const auto qx = quantize(t, x);
      const auto qy = quantize(act.type, y);
      const auto xd = dequantize(t, qx, n);
      const auto yd = dequantize(act.type, qy, n);
      double ref = 0, mag = 0;
      for (int64_t i = 0; i < n; ++i) {
        ref += double(xd[size_t(i)]) * yd[size_t(i)];
        mag += std::fabs(double(xd[size_t(i)]) * yd[size_t(i)]);
      }
      const double nterms = double(n / tt.block_size * terms_per_block);
      double tol = (nterms + roundings_per_term + 1) * kF32Rel * mag;
      if (extra) tol += extra(qx, qy, n);
      const float got = tt.vec_dot(n, qx.data(), qy.data());
      INFO(tt.name << " n " << n << " rep " << rep << " got " << got << " ref " << ref << " tol " << tol);
      REQUIRE(std::fabs(double(got) - ref) <= tol);
    }
  }
}

// The IQ4 level table, written out from formats.md B.5 (independent of quant/iq4_common.h).
inline constexpr int kIq4Levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

// Bound on |s - scale| when scale = fp16(d) * mult is the stored form of the f32 s = d * mult:
// f16 rounding is 2^-11 relative, or 2^-25 absolute once d is subnormal in f16.
inline double f16_scale_error(float d16, int mult) {
  return std::abs(mult) * std::fmax(std::fabs(double(d16)) * kF16Rel, 0x1p-25);
}

// Checks that each of the 32 elements x[j] (reconstructed as scale*level, scale the stored f16
// sub-block scale) uses a nearest level. The quantizer picked levels with its unrounded f32 scale
// s, |s - scale| <= scale_err; that can move the error by at most (|v*| + |v|)*|s - scale| <=
// 254*scale_err (2x slack below for the f32 product x*(1/s)).
inline void check_iq4_nearest(const float* x, const float* y, float scale, double scale_err, const char* what) {
  const double slack = 2 * 254 * scale_err;
  for (int j = 0; j < 32; ++j) {
    double best = std::numeric_limits<double>::infinity();
    for (int v : kIq4Levels) best = std::fmin(best, std::fabs(double(x[j]) - double(scale) * v));
    INFO(what << " element " << j << " x " << x[j] << " y " << y[j] << " scale " << scale);
    REQUIRE(std::fabs(double(x[j]) - y[j]) <= best + slack);
  }
}

}  // namespace kq::legacy_test
