// Tests for runtime/ops: each op against its textbook formula in double.
#include "runtime/ops.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

namespace {

std::vector<float> random_vector(int n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = nd(rng);
  return v;
}

}  // namespace

TEST_CASE("ops: rmsnorm", "[model]") {
  const int n = 96;
  const auto x = random_vector(n, 1, 3.0f);
  const auto w = random_vector(n, 2);
  std::vector<float> out(static_cast<size_t>(n));
  kq::rmsnorm(x.data(), w.data(), out.data(), n, 1e-5f);
  double ss = 0;
  for (float v : x) ss += double(v) * v;
  const double s = 1.0 / std::sqrt(ss / n + 1e-5);
  for (int i = 0; i < n; ++i) CHECK(out[size_t(i)] == Approx(double(x[size_t(i)]) * s * w[size_t(i)]).epsilon(1e-6));
  // In place works too.
  std::vector<float> y = x;
  kq::rmsnorm(y.data(), w.data(), y.data(), n, 1e-5f);
  CHECK(y == out);
}

TEST_CASE("ops: RoPE NORM and NEOX pairings, scaling and frequency factors", "[model]") {
  const int heads = 3, dim = 16;
  const std::vector<float> factors = {1.0f, 1.0f, 2.5f, 4.0f, 8.0f, 1.5f};
  for (const kq::RopeType type : {kq::RopeType::kNorm, kq::RopeType::kNeox}) {
    for (const int n_rot : {16, 12}) {
      kq::RopeParams p;
      p.n_rot = n_rot;
      p.freq_base = 10000.0f;
      p.freq_scale = 0.5f;
      p.type = type;
      p.freq_factors = n_rot == 12 ? factors.data() : nullptr;
      const int pos = 37;
      std::vector<float> cs(static_cast<size_t>(n_rot));
      kq::rope_angles(pos, p, cs.data());
      const auto x = random_vector(heads * dim, 3);
      std::vector<float> y = x;
      kq::rope_apply(y.data(), heads, dim, p, cs.data());
      std::vector<bool> touched(size_t(dim), false);
      for (int h = 0; h < heads; ++h) {
        for (int i = 0; i < n_rot / 2; ++i) {
          double theta = pos * 0.5 * std::pow(10000.0, -2.0 * i / n_rot);
          if (p.freq_factors) theta /= p.freq_factors[i];
          const int a = type == kq::RopeType::kNorm ? 2 * i : i;
          const int b = type == kq::RopeType::kNorm ? a + 1 : a + n_rot / 2;
          touched[size_t(a)] = touched[size_t(b)] = true;
          const double x0 = x[size_t(h * dim + a)], x1 = x[size_t(h * dim + b)];
          // The float recurrence for θ drifts by a few ulps of θ (up to ~18 rad here).
          CHECK(y[size_t(h * dim + a)] == Approx(x0 * std::cos(theta) - x1 * std::sin(theta)).margin(2e-5));
          CHECK(y[size_t(h * dim + b)] == Approx(x0 * std::sin(theta) + x1 * std::cos(theta)).margin(2e-5));
        }
        for (int d = 0; d < dim; ++d)
          if (!touched[size_t(d)]) CHECK(y[size_t(h * dim + d)] == x[size_t(h * dim + d)]);  // past n_rot
      }
    }
  }
}

TEST_CASE("ops: RoPE angles follow ggml's float recurrence", "[model]") {
  kq::RopeParams p;
  p.n_rot = 64;
  p.freq_base = 500000.0f;
  std::vector<float> cs(64);
  kq::rope_angles(1000, p, cs.data());
  // θ_i is built as 1000 · s^i with s = powf(base, −2/64), one float multiply at a time.
  const float s = std::pow(500000.0f, -2.0f / 64.0f);
  float theta = 1000.0f;
  for (int i = 0; i < 32; ++i, theta *= s) {
    CHECK(cs[size_t(2 * i)] == std::cos(theta));
    CHECK(cs[size_t(2 * i + 1)] == std::sin(theta));
  }
}

TEST_CASE("ops: softmax, silu_mul, add", "[model]") {
  auto x = random_vector(50, 4, 5.0f);
  x[7] = -INFINITY;  // a masked position gets probability 0
  std::vector<float> p = x;
  kq::softmax(p.data(), 50);
  double mx = -1e300, sum = 0;
  for (float v : x) mx = std::max(mx, double(v));
  for (float v : x) sum += std::exp(double(v) - mx);
  double total = 0;
  for (int i = 0; i < 50; ++i) {
    CHECK(p[size_t(i)] == Approx(std::exp(double(x[size_t(i)]) - mx) / sum).epsilon(1e-5).margin(1e-12));
    total += p[size_t(i)];
  }
  CHECK(p[7] == 0.0f);
  CHECK(total == Approx(1.0).epsilon(1e-6));

  auto g = random_vector(40, 5, 4.0f);
  const auto u = random_vector(40, 6);
  const auto g0 = g;
  kq::silu_mul(g.data(), u.data(), 40);
  for (int i = 0; i < 40; ++i) {
    const double gd = g0[size_t(i)];
    CHECK(g[size_t(i)] == Approx(gd / (1.0 + std::exp(-gd)) * u[size_t(i)]).epsilon(1e-6).margin(1e-30));
  }
  std::vector<float> a = {1.0f, 2.0f}, b = {0.5f, -4.0f};
  kq::add(a.data(), b.data(), 2);
  CHECK(a == std::vector<float>{1.5f, -2.0f});
}
