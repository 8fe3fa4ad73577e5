// Tests for runtime/ops: each op against its textbook formula in double, and every ISA's build against the references.
#include "runtime/ops.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "runtime/ops_kernels.h"

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

namespace {

// ulp-relative closeness: |a − b| ≤ rel·|b| + abs.
bool near(float a, float b, double rel, double abs) {
  return std::fabs(double(a) - double(b)) <= rel * std::fabs(double(b)) + abs;
}

// Every ISA level of this build and CPU, the references included.
std::vector<const kq::OpsKernels*> ops_levels() {
  std::vector<const kq::OpsKernels*> out;
  for (const kq::Isa isa : {kq::Isa::kScalar, kq::Isa::kAvx2, kq::Isa::kAvx512, kq::Isa::kNeon})
    if (const kq::OpsKernels* t = kq::ops_kernels_for(isa)) out.push_back(t);
  return out;
}

// Lengths around the vector widths (4, 8, 16 floats) and a model-sized row with a ragged tail.
const int kLengths[] = {1, 3, 8, 15, 16, 17, 33, 64, 100, 2048 + 13};

}  // namespace

TEST_CASE("ops: the selected table is one of the levels", "[model]") {
  const auto levels = ops_levels();
  REQUIRE(levels.size() >= 1);
  CHECK(std::find(levels.begin(), levels.end(), &kq::ops_kernels()) != levels.end());
  CHECK(kq::ops_kernels_for(kq::Isa::kScalar)->rmsnorm == &kq::rmsnorm_reference);
}

TEST_CASE("ops: vector rmsnorm matches the double-sum reference", "[model]") {
  for (const kq::OpsKernels* k : ops_levels()) {
    for (const int n : kLengths) {
      INFO(k->name << " n=" << n);
      // Large dynamic range: the squares differ by up to ~1e8, where a plain float sum would lose bits.
      auto x = random_vector(n, 11 + uint32_t(n), 1.0f);
      for (int i = 0; i < n; i += 5) x[size_t(i)] *= 1e4f;
      const auto w = random_vector(n, 12);
      std::vector<float> ref(static_cast<size_t>(n)), out(static_cast<size_t>(n));
      kq::rmsnorm_reference(x.data(), w.data(), ref.data(), n, 1e-6f);
      k->rmsnorm(x.data(), w.data(), out.data(), n, 1e-6f);
      // The compensated float sum is within ~2^-23 of the double sum, so the float mean is at most
      // 1 ulp off, the scale at most 1 ulp, and each output (two roundings) within 4 ulp.
      for (int i = 0; i < n; ++i) CHECK(near(out[size_t(i)], ref[size_t(i)], 0x1p-21, 0.0));
      std::vector<float> y = x;
      k->rmsnorm(y.data(), w.data(), y.data(), n, 1e-6f);
      CHECK(y == out);  // in place
    }
  }
}

TEST_CASE("ops: vector RoPE is bit-identical to the reference", "[model]") {
  const std::vector<float> factors(64, 1.7f);
  for (const kq::OpsKernels* k : ops_levels()) {
    for (const kq::RopeType type : {kq::RopeType::kNorm, kq::RopeType::kNeox}) {
      for (const int head_dim : {64, 128, 24}) {
        for (const int n_rot : {head_dim, head_dim / 2 + (head_dim / 2) % 2, 12}) {
          INFO(k->name << " type=" << int(type) << " head_dim=" << head_dim << " n_rot=" << n_rot);
          kq::RopeParams p;
          p.n_rot = n_rot;
          p.freq_base = 500000.0f;
          p.type = type;
          p.freq_factors = n_rot == 12 ? factors.data() : nullptr;
          std::vector<float> cs(static_cast<size_t>(n_rot));
          kq::rope_angles(4093, p, cs.data());
          const auto x = random_vector(5 * head_dim, 13, 2.0f);
          std::vector<float> ref = x, out = x;
          kq::rope_apply_reference(ref.data(), 5, head_dim, p, cs.data());
          k->rope_apply(out.data(), 5, head_dim, p, cs.data());
          // Both round a·c and b·s before the add: the same floats, not merely close ones.
          CHECK(out == ref);
        }
      }
    }
  }
}

TEST_CASE("ops: vector softmax matches the reference", "[model]") {
  for (const kq::OpsKernels* k : ops_levels()) {
    for (const int n : kLengths) {
      INFO(k->name << " n=" << n);
      auto x = random_vector(n, 21 + uint32_t(n), 8.0f);
      if (n > 3) x[2] = -INFINITY;  // masked
      if (n > 40) x[40] = -200.0f;  // exp underflows (to 0 or a denormal)
      std::vector<float> ref = x, out = x;
      kq::softmax_reference(ref.data(), n);
      k->softmax(out.data(), n);
      // Vector exp within 2 ulp of std::exp, the sums within 2^-23 of each other, two roundings:
      // at most ~6 ulp apart (2^-21 relative); the margin covers denormals flushed to zero.
      double total = 0;
      for (int i = 0; i < n; ++i) {
        CHECK(near(out[size_t(i)], ref[size_t(i)], 0x1p-21, 1e-37));
        total += out[size_t(i)];
      }
      if (n > 3) CHECK(out[2] == 0.0f);
      CHECK(total == Approx(1.0).epsilon(1e-6));
    }
  }
}

TEST_CASE("ops: vector silu_mul, add, scale and axpy match the references", "[model]") {
  for (const kq::OpsKernels* k : ops_levels()) {
    for (const int n : kLengths) {
      INFO(k->name << " n=" << n);
      auto g = random_vector(n, 31 + uint32_t(n), 6.0f);
      if (n > 10) g[3] = 120.0f, g[9] = -120.0f;  // e^-g overflows: silu → -0
      const auto u = random_vector(n, 32);
      std::vector<float> ref = g, out = g;
      kq::silu_mul_reference(ref.data(), u.data(), n);
      k->silu_mul(out.data(), u.data(), n);
      // exp within 2 ulp, then 1 + e, the division and the product: within ~5 ulp.
      for (int i = 0; i < n; ++i) CHECK(near(out[size_t(i)], ref[size_t(i)], 0x1p-21, 1e-37));

      const auto y = random_vector(n, 33);
      std::vector<float> a = g, b = g;
      kq::add_reference(a.data(), y.data(), n);
      k->add(b.data(), y.data(), n);
      CHECK(a == b);
      kq::scale_reference(a.data(), n, 0.37f);
      k->scale(b.data(), n, 0.37f);
      CHECK(a == b);
      // axpy may fuse: it differs from the two-rounding reference by at most half an ulp of a·x
      // plus half an ulp of the result.
      kq::axpy_reference(a.data(), -1.3f, y.data(), n);
      std::vector<float> c = b;
      k->axpy(c.data(), -1.3f, y.data(), n);
      for (int i = 0; i < n; ++i) {
        const double bound = 0x1p-24 * (1.3 * std::fabs(double(y[size_t(i)])) + std::fabs(double(a[size_t(i)]))) * 2;
        CHECK(std::fabs(double(c[size_t(i)]) - double(a[size_t(i)])) <= bound);
      }
    }
  }
}

TEST_CASE("ops: accumulate_rows is repeated axpy in the same order", "[model]") {
  for (const kq::OpsKernels* k : ops_levels()) {
    for (const int n : kLengths) {
      for (const int n_rows : {0, 1, 5, 64}) {
        INFO(k->name << " n=" << n << " rows=" << n_rows);
        const auto rows = random_vector(n * n_rows, 41, 2.0f);
        const auto p = random_vector(n_rows, 42, 0.3f);
        const auto y0 = random_vector(n, 43);
        std::vector<float> a = y0, b = y0;
        for (int j = 0; j < n_rows; ++j) k->axpy(a.data(), p[size_t(j)], rows.data() + size_t(j) * size_t(n), n);
        k->accumulate_rows(b.data(), p.data(), rows.data(), n_rows, n);
        CHECK(a == b);  // bit-identical: the blocked loop keeps each element's fma order
      }
    }
  }
}
