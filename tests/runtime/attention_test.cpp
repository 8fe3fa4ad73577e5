// Tests for runtime/attention: tiled work items against a double-precision reference and the one-head attend_head.
#include "runtime/attention.h"

#include <omp.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "quant/kernels.h"
#include "quant/registry.h"

namespace {

std::vector<float> random_vector(size_t n, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = nd(rng);
  return v;
}

// Rounds x through the cache's vec_dot type and back, as the kernels see it.
std::vector<float> through(kq::QType type, const float* x, int n) {
  std::vector<uint8_t> buf(kq::row_size(type, n));
  kq::convert_row(type, x, buf.data(), n);
  std::vector<float> out(static_cast<size_t>(n));
  kq::type_traits(type).to_float(buf.data(), out.data(), n);
  return out;
}

struct Case {
  kq::QType type;
  int n_head, n_head_kv, pos0, n_tokens, n_threads;
};

struct Fixture {
  static constexpr int kDim = 64, kLayers = 2, kLayer = 1;
  Case c;
  int n_ctx;
  kq::KvCache cache;
  std::vector<float> q;  // [n_tokens][H·D]

  explicit Fixture(const Case& cs)
      : c(cs), n_ctx(cs.pos0 + cs.n_tokens + 9), cache(kLayers, n_ctx, cs.n_head_kv, kDim, kDim, cs.type) {
    const size_t kv = size_t(c.n_head_kv) * kDim;
    const int filled = c.pos0 + c.n_tokens;
    const auto k = random_vector(size_t(filled) * kv, 1, 1.0f), v = random_vector(size_t(filled) * kv, 2, 1.0f);
    // Split the positions over two calls to exercise the batched store at an offset.
    cache.store(kLayer, 0, filled / 2, k.data(), v.data());
    cache.store(kLayer, filled / 2, filled - filled / 2, k.data() + size_t(filled / 2) * kv,
                v.data() + size_t(filled / 2) * kv);
    // Positions past the batch hold huge keys and values: reading any of them would dominate the output.
    const std::vector<float> poison(kv, 3.0e4f);
    for (int p = filled; p < n_ctx; ++p) cache.store(kLayer, p, poison.data(), poison.data());
    q = random_vector(size_t(c.n_tokens) * size_t(c.n_head) * kDim, 3, 2.0f);
  }

  kq::AttentionBatch batch(float* out) const {
    kq::AttentionBatch b;
    b.cache = &cache;
    b.il = kLayer;
    b.pos0 = c.pos0;
    b.n_tokens = c.n_tokens;
    b.n_head = c.n_head;
    b.n_head_kv = c.n_head_kv;
    b.head_dim_k = b.head_dim_v = kDim;
    b.scale = 0.125f;
    b.q = q.data();
    b.q_stride = size_t(c.n_head) * kDim;
    b.out = out;
    b.out_stride = size_t(c.n_head) * kDim;
    return b;
  }

  // Value (position j, channel d of KV head g) as stored.
  float v_at(int j, int g, int d) const {
    float x;
    if (cache.v_transposed()) {
      const size_t esz = kq::type_traits(cache.type()).type_size;
      kq::type_traits(cache.type()).to_float(cache.v_channel(kLayer, g * kDim + d) + size_t(j) * esz, &x, 1);
    } else {
      std::vector<float> row(kDim);
      kq::type_traits(cache.type()).to_float(cache.v_row(kLayer, j, g), row.data(), kDim);
      x = row[size_t(d)];
    }
    return x;
  }
};

void check_against_reference(const Fixture& f, const std::vector<float>& out) {
  const Case& c = f.c;
  const int D = Fixture::kDim, group = c.n_head / c.n_head_kv;
  const kq::QType dot = kq::type_traits(c.type).vec_dot_type;
  for (int t = 0; t < c.n_tokens; ++t) {
    for (int h = 0; h < c.n_head; ++h) {
      const int g = h / group, n_kv = c.pos0 + t + 1;
      const auto qr = through(dot, f.q.data() + (size_t(t) * c.n_head + size_t(h)) * D, D);
      std::vector<double> s(static_cast<size_t>(n_kv));
      double max_s = -1e300, max_abs_dot = 0, max_v = 0;
      for (int j = 0; j < n_kv; ++j) {
        std::vector<float> kr(D);
        kq::type_traits(c.type).to_float(f.cache.k_row(Fixture::kLayer, j, g), kr.data(), D);
        double dd = 0, ad = 0;
        for (int i = 0; i < D; ++i) dd += double(qr[size_t(i)]) * kr[size_t(i)], ad += std::fabs(double(qr[size_t(i)]) * kr[size_t(i)]);
        s[size_t(j)] = dd * 0.125;
        max_s = std::max(max_s, s[size_t(j)]);
        max_abs_dot = std::max(max_abs_dot, ad * 0.125);
      }
      double sum = 0;
      for (double& x : s) sum += (x = std::exp(x - max_s));
      std::vector<float> p(static_cast<size_t>(n_kv));
      for (int j = 0; j < n_kv; ++j) p[size_t(j)] = float(s[size_t(j)] / sum);
      if (f.cache.v_transposed()) p = through(dot, p.data(), n_kv);  // as llama.cpp rounds p for V·p
      for (int d = 0; d < D; ++d) {
        double ref = 0;
        for (int j = 0; j < n_kv; ++j) {
          const float vv = f.v_at(j, g, d);
          ref += double(p[size_t(j)]) * vv;
          max_v = std::max(max_v, double(std::fabs(vv)));
        }
        // A float dot of D terms is within D·2^-24 of Σ|q·k|, which moves each p by at most twice
        // that relatively; the float softmax adds ~2^-21, and rounding p to F16 (a flip the reference
        // need not share) up to 2^-11 of the weighted values.
        const double score_err = 2.0 * D * 0x1p-24 * max_abs_dot;
        const double tol = max_v * (score_err + 0x1p-20 + (dot == kq::QType::F16 ? 0x1p-11 : 0.0)) + 1e-6;
        const float got = out[(size_t(t) * c.n_head + size_t(h)) * D + size_t(d)];
        INFO("t=" << t << " h=" << h << " d=" << d);
        REQUIRE(std::fabs(double(got) - ref) <= tol);
      }
    }
  }
}

}  // namespace

TEST_CASE("attention: tiled items match a double-precision reference for every cache type", "[model]") {
  const std::vector<Case> cases = {
      {kq::QType::F32, 8, 2, 0, 70, 2},   {kq::QType::F16, 8, 2, 0, 70, 2},  {kq::QType::Q8_0, 8, 2, 0, 70, 2},
      {kq::QType::F16, 8, 2, 100, 1, 2},  {kq::QType::Q8_0, 8, 2, 100, 1, 4}, {kq::QType::F16, 3, 3, 37, 5, 1},
      {kq::QType::F32, 6, 1, 130, 3, 8},  {kq::QType::F16, 6, 1, 20, 40, 3},
  };
  for (const Case& c : cases) {
    INFO("type=" << kq::type_name(c.type) << " H=" << c.n_head << " Hkv=" << c.n_head_kv << " pos0=" << c.pos0
                 << " n=" << c.n_tokens << " threads=" << c.n_threads);
    Fixture f(c);
    std::vector<float> out(size_t(c.n_tokens) * size_t(c.n_head) * Fixture::kDim, NAN);
    kq::AttentionBatch b = f.batch(out.data());
    const int items = b.plan(c.n_threads);
    CHECK(b.heads_per_item * b.tokens_per_item <= kq::kAttnMaxQueries);
    kq::AttentionScratch s(f.cache, Fixture::kDim, Fixture::kDim);
    for (int it = 0; it < items; ++it) b.run_item(it, s);
    check_against_reference(f, out);

    // The one-head reference agrees within the same bounds.
    std::vector<float> one(out.size());
    for (int t = 0; t < c.n_tokens; ++t)
      for (int h = 0; h < c.n_head; ++h)
        kq::attend_head(f.cache, Fixture::kLayer, c.pos0 + t + 1, f.q.data() + (size_t(t) * c.n_head + h) * 64,
                        h / (c.n_head / c.n_head_kv), 0.125f, one.data() + (size_t(t) * c.n_head + h) * 64, s);
    check_against_reference(f, one);

    // Items run concurrently write the same floats (each item's work does not depend on the others).
    std::vector<float> par(out.size(), NAN);
    kq::AttentionBatch bp = f.batch(par.data());
    bp.plan(c.n_threads);
    std::vector<kq::AttentionScratch> scratch(4, kq::AttentionScratch(f.cache, Fixture::kDim, Fixture::kDim));
#pragma omp parallel for schedule(dynamic, 1) num_threads(4)
    for (int it = 0; it < items; ++it) bp.run_item(it, scratch[size_t(omp_get_thread_num())]);
    CHECK(par == out);
  }
}

TEST_CASE("attention: plan splits GQA groups only to feed the threads", "[model]") {
  kq::KvCache cache(1, 64, 2, 32, 32, kq::QType::F16);
  kq::AttentionBatch b;
  b.cache = &cache;
  b.n_head = 8;
  b.n_head_kv = 2;
  b.n_tokens = 1;
  CHECK(b.plan(1) == 2);  // decode, one thread: one item per KV head, the group's 4 heads together
  CHECK(b.heads_per_item == 4);
  CHECK(b.plan(2) == 4);  // two threads: halves of each group
  CHECK(b.heads_per_item == 2);
  b.n_tokens = 512;
  CHECK(b.plan(2) == 2 * 32);  // prefill: 4 heads × 16 tokens per item
  CHECK(b.heads_per_item == 4);
  CHECK(b.tokens_per_item == 16);
}
