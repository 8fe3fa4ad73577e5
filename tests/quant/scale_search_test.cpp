// Tests for quant/scale_search: level ranges, exact grids recovered, searches never worse than their start.
#include "quant/scale_search.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "common/fp16.h"

using namespace kq;

namespace {

std::vector<float> normals(std::mt19937& g, int n, float sigma) {
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> v(size_t(n), 0.0f);
  for (auto& x : v) x = dist(g);
  return v;
}

// Weighted squared error of x ~ s * l (symmetric, l = L - nmax).
double sym_error(const std::vector<float>& x, const std::vector<float>& w, const int8_t* L, int nmax, double s) {
  double e = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = double(x[i]) - s * (L[i] - nmax);
    e += double(w[i]) * d * d;
  }
  return e;
}

// Weighted squared error of the best scale for the plain rounding at iscale = -nmax/max, the
// first candidate every symmetric search starts from.
double sym_start_error(const std::vector<float>& x, const std::vector<float>& w, int nmax) {
  float max = 0;
  for (float v : x) {
    if (std::fabs(v) > std::fabs(max)) max = v;
  }
  const float iscale = -float(nmax) / max;
  double slx = 0, sl2 = 0;
  std::vector<int8_t> L(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const int l = std::clamp(round_ne(iscale * x[i]), -nmax, nmax - 1);
    L[i] = int8_t(l + nmax);
    slx += double(w[i]) * x[i] * l;
    sl2 += double(w[i]) * l * l;
  }
  return sym_error(x, w, L.data(), nmax, slx / sl2);
}

// Weighted error (|.| or squared) of x ~ s * L - the_min.
double asym_error(const std::vector<float>& x, const std::vector<float>& w, const uint8_t* L, double s, double the_min,
                  bool mad) {
  double e = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = s * L[i] - the_min - double(x[i]);
    e += double(w[i]) * (mad ? std::fabs(d) : d * d);
  }
  return e;
}

// Weighted error of the plain min-to-max grid, the first candidate of make_qkx2/3_quants.
double asym_start_error(const std::vector<float>& x, const std::vector<float>& w, int nmax, bool mad) {
  float min = std::min(0.0f, *std::min_element(x.begin(), x.end()));
  const float max = *std::max_element(x.begin(), x.end());
  const float iscale = float(nmax) / (max - min);
  std::vector<uint8_t> L(x.size());
  for (size_t i = 0; i < x.size(); ++i) L[i] = uint8_t(std::clamp(round_ne(iscale * (x[i] - min)), 0, nmax));
  return asym_error(x, w, L.data(), 1 / iscale, -min, mad);
}

}  // namespace

TEST_CASE("make_qx_quants: zero groups give scale 0 and level 0", "[kquant]") {
  const std::vector<float> x(16, 1e-16f);
  int8_t L[16];
  REQUIRE(make_qx_quants(16, 4, x.data(), L, 1, nullptr) == 0.0f);
  for (int8_t l : L) REQUIRE(l == 0);
}

TEST_CASE("make_qx_quants: recovers an exact grid of either sign", "[kquant]") {
  // x = 0.25 * l with l in [-4, 3] and the extreme -4 present: the search must return 0.25 exactly.
  const int levels[16] = {-4, -3, -2, -1, 0, 1, 2, 3, 3, 2, 1, 0, -1, -2, -3, 1};
  for (float s : {0.25f, -0.25f}) {
    std::vector<float> x(16);
    for (int i = 0; i < 16; ++i) x[size_t(i)] = s * float(levels[i]);
    int8_t L[16];
    REQUIRE(make_qx_quants(16, 4, x.data(), L, 1, nullptr) == s);
    for (int i = 0; i < 16; ++i) REQUIRE(L[i] == levels[i] + 4);
  }
}

TEST_CASE("make_qx_quants: rmse_type 0 returns 1/iscale", "[kquant]") {
  const std::vector<float> x = {0.5f, -2.0f, 1.0f, 0.1f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  int8_t L[16];
  REQUIRE(make_qx_quants(16, 4, x.data(), L, 0, nullptr) == 1 / (-4.0f / -2.0f));
  REQUIRE(L[1] == 0);  // the extreme maps to -nmax
}

TEST_CASE("make_qx_quants: levels in range and never worse than the starting grid", "[kquant]") {
  std::mt19937 g(3);
  for (int rep = 0; rep < 200; ++rep) {
    const int nmax = rep % 2 ? 4 : 32;
    const int n = rep % 3 ? 16 : 32;
    const std::vector<float> x = normals(g, n, 1.0f);
    std::vector<float> qw(static_cast<size_t>(n));
    for (auto& w : qw) w = std::exp(normals(g, 1, 1.5f)[0]);
    for (int rmse_type = 1; rmse_type <= 5; ++rmse_type) {
      // rmse_type 5 stands for "explicit weights"; 1..4 are the built-in choices.
      const float* w = rmse_type == 5 ? qw.data() : nullptr;
      std::vector<float> weights(static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) {
        const float a = std::fabs(x[size_t(i)]);
        weights[size_t(i)] = rmse_type == 5   ? qw[size_t(i)]
                             : rmse_type == 1 ? a * a
                             : rmse_type == 2 ? 1.0f
                             : rmse_type == 3 ? a
                                              : std::sqrt(a);
      }
      std::vector<int8_t> L(static_cast<size_t>(n));
      const float s = make_qx_quants(n, nmax, x.data(), L.data(), rmse_type == 5 ? 1 : rmse_type, w);
      for (int8_t l : L) REQUIRE((l >= 0 && l <= 2 * nmax - 1));
      const double start = sym_start_error(x, weights, nmax);
      REQUIRE(sym_error(x, weights, L.data(), nmax, s) <= start * (1 + 1e-5) + 1e-12);
    }
  }
}

TEST_CASE("make_q3_quants: plain and coordinate-descent modes", "[kquant]") {
  std::mt19937 g(4);
  int8_t L[16];
  const std::vector<float> zero(16, 0.0f);
  REQUIRE(make_q3_quants(16, 4, zero.data(), L, true) == 0.0f);
  for (int rep = 0; rep < 200; ++rep) {
    const std::vector<float> x = normals(g, 16, 2.0f);
    float max = 0;
    for (float v : x) {
      if (std::fabs(v) > std::fabs(max)) max = v;
    }
    REQUIRE(make_q3_quants(16, 4, x.data(), L, false) == 1 / (-4.0f / max));
    for (int8_t l : L) REQUIRE((l >= 0 && l <= 7));
    const float s = make_q3_quants(16, 4, x.data(), L, true);
    for (int8_t l : L) REQUIRE((l >= 0 && l <= 7));
    std::vector<float> w(16);
    for (size_t i = 0; i < 16; ++i) w[i] = x[i] * x[i];
    REQUIRE(sym_error(x, w, L, 4, s) <= sym_start_error(x, w, 4) * (1 + 1e-5));
  }
}

TEST_CASE("make_qkx2_quants: degenerate groups", "[kquant]") {
  uint8_t L[16], aux[16];
  float the_min = -1;
  const std::vector<float> zero(16, 0.0f);
  const std::vector<float> w(16, 1.0f);
  REQUIRE(make_qkx2_quants(16, 3, zero.data(), w.data(), L, &the_min, aux, -0.5f, 0.1f, 15, true) == 0.0f);
  REQUIRE(the_min == 0.0f);
  for (uint8_t l : L) REQUIRE(l == 0);
  // All equal and negative: only the min can represent it.
  const std::vector<float> neg(16, -0.75f);
  REQUIRE(make_qkx2_quants(16, 3, neg.data(), w.data(), L, &the_min, aux, -0.5f, 0.1f, 15, true) == 0.0f);
  REQUIRE(the_min == 0.75f);
}

TEST_CASE("make_qkx2_quants: recovers an exact asymmetric grid", "[kquant]") {
  // x = 0.5 * l - 1.5 with l covering 0..15: scale 0.5 and min 1.5 reproduce every value.
  std::vector<float> x(32);
  for (int i = 0; i < 32; ++i) x[size_t(i)] = 0.5f * float((i * 7) % 16) - 1.5f;
  std::vector<float> w(32, 1.0f);
  uint8_t L[32], aux[32];
  float the_min = 0;
  const float s = make_qkx2_quants(32, 15, x.data(), w.data(), L, &the_min, aux, -1.0f, 0.1f, 20, false);
  for (int i = 0; i < 32; ++i) REQUIRE(std::fabs(s * L[i] - the_min - x[size_t(i)]) <= 1e-5f);
}

TEST_CASE("make_qkx2/3_quants: levels in range, min >= 0, never worse than the starting grid", "[kquant]") {
  std::mt19937 g(5);
  for (int rep = 0; rep < 300; ++rep) {
    const bool mad = rep % 2;
    const int nmax = rep % 3 == 0 ? 3 : rep % 3 == 1 ? 15 : 31;
    const int n = nmax == 3 ? 16 : 32;
    std::vector<float> x = normals(g, n, 1.0f);
    if (rep % 5 == 0) {
      for (auto& v : x) v = std::fabs(v) + 0.2f;  // all positive: min is clamped to 0
    }
    std::vector<float> w(static_cast<size_t>(n));
    for (auto& v : w) v = std::exp(normals(g, 1, 1.0f)[0]);
    std::vector<uint8_t> L(static_cast<size_t>(n)), aux(static_cast<size_t>(n));
    float the_min = -1;
    const float s = make_qkx2_quants(n, nmax, x.data(), w.data(), L.data(), &the_min, aux.data(), -0.5f, 0.1f, 15, mad);
    for (uint8_t l : L) REQUIRE(l <= nmax);
    REQUIRE(the_min >= 0.0f);
    REQUIRE(asym_error(x, w, L.data(), s, the_min, mad) <= asym_start_error(x, w, nmax, mad) * (1 + 1e-5));
    // qkx3 with explicit weights is the same search.
    std::vector<uint8_t> L3(static_cast<size_t>(n));
    float min3 = -1;
    const float s3 = make_qkx3_quants(n, nmax, x.data(), w.data(), L3.data(), &min3, aux.data(), -0.5f, 0.1f, 15, mad);
    REQUIRE(s3 == s);
    REQUIRE(min3 == the_min);
    REQUIRE(L3 == L);
  }
}

TEST_CASE("make_qkx3_quants: null weights mean x^2", "[kquant]") {
  std::mt19937 g(6);
  for (int rep = 0; rep < 50; ++rep) {
    const std::vector<float> x = normals(g, 32, 1.0f);
    std::vector<float> w(32);
    for (size_t i = 0; i < 32; ++i) w[i] = x[i] * x[i];
    uint8_t La[32], Lb[32], aux[32];
    float ma = 0, mb = 0;
    const float sa = make_qkx3_quants(32, 15, x.data(), nullptr, La, &ma, aux, -0.9f, 0.05f, 36, false);
    const float sb = make_qkx3_quants(32, 15, x.data(), w.data(), Lb, &mb, aux, -0.9f, 0.05f, 36, false);
    REQUIRE(sa == sb);
    REQUIRE(ma == mb);
    for (int i = 0; i < 32; ++i) REQUIRE(La[i] == Lb[i]);
  }
}

TEST_CASE("make_qp_quants: zero, exact grid, range and improvement", "[kquant]") {
  uint8_t L[16];
  const std::vector<float> ones(16, 1.0f);
  const std::vector<float> zero(16, 0.0f);
  REQUIRE(make_qp_quants(16, 15, zero.data(), L, ones.data()) == 0.0f);
  for (uint8_t l : L) REQUIRE(l == 0);

  // x = 0.125 * l with l in 0..15, 15 present: scale 0.125 and the same levels come back.
  std::vector<float> x(16);
  for (int i = 0; i < 16; ++i) x[size_t(i)] = 0.125f * float((i * 5) % 16);
  REQUIRE(make_qp_quants(16, 15, x.data(), L, ones.data()) == 0.125f);
  for (int i = 0; i < 16; ++i) REQUIRE(L[i] == (i * 5) % 16);

  std::mt19937 g(7);
  std::uniform_real_distribution<float> u(0.0f, 3.0f);
  for (int rep = 0; rep < 200; ++rep) {
    const int nmax = rep % 2 ? 15 : 63;
    const int n = rep % 2 ? 16 : 8;
    std::vector<float> v(static_cast<size_t>(n)), w(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      v[size_t(i)] = u(g);
      w[size_t(i)] = u(g) + 0.01f;
    }
    std::vector<uint8_t> Lq(static_cast<size_t>(n));
    const float s = make_qp_quants(n, nmax, v.data(), Lq.data(), w.data());
    REQUIRE(s > 0.0f);
    double err = 0, start = 0;
    const float vmax = *std::max_element(v.begin(), v.end());
    for (int i = 0; i < n; ++i) {
      REQUIRE(Lq[size_t(i)] <= nmax);
      const double d = v[size_t(i)] - double(s) * Lq[size_t(i)];
      err += w[size_t(i)] * d * d;
      const int l0 = round_ne(float(nmax) / vmax * v[size_t(i)]);
      const double d0 = v[size_t(i)] - double(vmax) / nmax * l0;
      start += w[size_t(i)] * d0 * d0;
    }
    REQUIRE(err <= start * (1 + 1e-5) + 1e-12);
  }
}
