// Every ISA level's batched scale searches against the scalar reference, byte for byte: levels and
// the bits of every scale and min, on random and edge groups, with and without weights.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "quant/kernels.h"
#include "quant/q4_k.h"
#include "quant/q5_k.h"
#include "quant/scale_search.h"

using namespace kq;

namespace {

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// The levels that are not the scalar reference's (a level table of every ISA on this CPU).
std::vector<const KernelTable*> simd_tables() {
  std::vector<const KernelTable*> out;
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512, Isa::kNeon}) {
    if (const KernelTable* t = kernel_table(isa)) out.push_back(t);
  }
  if (out.empty()) WARN("no SIMD level on this CPU or build: only the scalar searches exist");
  return out;
}

// Groups of n values in several shapes: Gaussian, one spike, all equal (of either sign or zero),
// tiny, huge, magnitude ties of opposite sign, and all non-negative.
std::vector<float> make_groups(std::mt19937& g, int groups, int n) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uni(0.0f, 1.0f);
  std::vector<float> x(size_t(groups) * size_t(n));
  for (int k = 0; k < groups; ++k) {
    float* v = x.data() + size_t(k) * size_t(n);
    const int shape = k % 10;
    for (int i = 0; i < n; ++i) {
      switch (shape) {
        case 0: v[i] = normal(g); break;
        case 1: v[i] = i == 3 ? 40.0f : 0.01f * normal(g); break;
        case 2: v[i] = -0.75f; break;
        case 3: v[i] = 0.0f; break;
        case 4: v[i] = 1e-20f * normal(g); break;
        case 5: v[i] = 1e30f * normal(g); break;
        case 6: v[i] = (i % 2 ? -1.0f : 1.0f) * float(1 + i % 3); break;
        case 7: v[i] = uni(g); break;
        case 8: v[i] = 0.5f; break;
        default: v[i] = normal(g) * (i < n / 2 ? 0.001f : 3.0f); break;
      }
    }
  }
  return x;
}

std::vector<float> make_weights(std::mt19937& g, size_t count, bool with_zeros) {
  std::uniform_real_distribution<float> uni(0.0f, 2.0f);
  std::vector<float> w(count);
  for (size_t i = 0; i < count; ++i) w[i] = with_zeros && i % 7 == 0 ? 0.0f : uni(g);
  return w;
}

struct AsymCase {
  const char* name;
  AsymmetricSearch p;
};

}  // namespace

TEST_CASE("batched asymmetric search: every SIMD level gives the scalar reference's bytes", "[kquant][simd]") {
  const AsymCase cases[] = {
      {"Q4_K ref", {32, 15, -1.0f, 0.1f, 20, false, false}},  {"Q5_K ref", {32, 31, -0.5f, 0.1f, 15, false, false}},
      {"K imatrix", {32, 15, -0.9f, 0.05f, 36, false, true}}, {"Q2_K ref", {16, 3, -0.5f, 0.1f, 15, true, false}},
      {"Q2_K imatrix", {16, 3, -0.9f, 0.05f, 36, false, true}}, {"no steps", {32, 15, -1.0f, 0.1f, 0, false, false}},
      {"unit weights", {24, 7, -0.5f, 0.1f, 15, false, false}},
  };
  std::mt19937 g(1234);
  const int groups = 43;  // five full lane batches of 8 plus a tail of 3 for the scalar path
  for (const KernelTable* t : simd_tables()) {
    for (const AsymCase& c : cases) {
      for (int weighting = 0; weighting < 3; ++weighting) {  // none, positive, some zero
        const int n = c.p.n;
        const std::vector<float> x = make_groups(g, groups, n);
        const std::vector<float> w = make_weights(g, x.size(), weighting == 2);
        const float* wp = weighting ? w.data() : nullptr;
        std::vector<uint8_t> l_ref(x.size()), l_simd(x.size(), 0xAA);
        std::vector<float> s_ref(groups), m_ref(groups), s_simd(groups), m_simd(groups);
        make_qkx_quants_batch_scalar(c.p, groups, x.data(), wp, l_ref.data(), s_ref.data(), m_ref.data());
        t->search.asymmetric(c.p, groups, x.data(), wp, l_simd.data(), s_simd.data(), m_simd.data());
        INFO(isa_name(t->isa) << " " << c.name << " weighting " << weighting);
        for (int k = 0; k < groups; ++k) {
          INFO("group " << k);
          REQUIRE(bits(s_simd[size_t(k)]) == bits(s_ref[size_t(k)]));
          REQUIRE(bits(m_simd[size_t(k)]) == bits(m_ref[size_t(k)]));
          REQUIRE(std::memcmp(l_simd.data() + size_t(k) * size_t(n), l_ref.data() + size_t(k) * size_t(n),
                              size_t(n)) == 0);
        }
      }
    }
  }
}

TEST_CASE("batched symmetric search: every SIMD level gives the scalar reference's bytes", "[kquant][simd]") {
  struct QxCase {
    int n, nmax, rmse_type;
  };
  // Q6_K (16, 32), Q3_K imatrix (16, 4), Q4_0 / Q5_0 imatrix (32, 8 / 16), and the other weightings.
  const QxCase cases[] = {{16, 32, 1}, {16, 4, 1}, {32, 8, 1}, {32, 16, 1}, {16, 32, 2},
                          {16, 32, 3}, {16, 32, 4}, {20, 6, 1}, {16, 4, 0}};
  std::mt19937 g(99);
  const int groups = 37;
  for (const KernelTable* t : simd_tables()) {
    for (const QxCase& c : cases) {
      for (int weighting = 0; weighting < 3; ++weighting) {
        const std::vector<float> x = make_groups(g, groups, c.n);
        const std::vector<float> w = make_weights(g, x.size(), weighting == 2);
        const float* wp = weighting ? w.data() : nullptr;
        std::vector<int8_t> l_ref(x.size()), l_simd(x.size(), int8_t(0x55));
        std::vector<float> s_ref(groups), s_simd(groups);
        make_qx_quants_batch_scalar(groups, c.n, c.nmax, x.data(), l_ref.data(), c.rmse_type, wp, s_ref.data());
        t->search.qx(groups, c.n, c.nmax, x.data(), l_simd.data(), c.rmse_type, wp, s_simd.data());
        INFO(isa_name(t->isa) << " n " << c.n << " nmax " << c.nmax << " rmse_type " << c.rmse_type << " weighting "
                              << weighting);
        for (int k = 0; k < groups; ++k) {
          INFO("group " << k);
          REQUIRE(bits(s_simd[size_t(k)]) == bits(s_ref[size_t(k)]));
          REQUIRE(std::memcmp(l_simd.data() + size_t(k) * size_t(c.n), l_ref.data() + size_t(k) * size_t(c.n),
                              size_t(c.n)) == 0);
        }
      }
    }
  }
}

TEST_CASE("batched searches: the scalar batch is the single-group search per group", "[kquant]") {
  std::mt19937 g(7);
  const AsymmetricSearch p{32, 15, -1.0f, 0.1f, 20, false, false};
  const std::vector<float> x = make_groups(g, 10, 32);
  const std::vector<float> w = make_weights(g, x.size(), false);
  std::vector<uint8_t> lb(x.size());
  std::vector<float> sb(10), mb(10);
  make_qkx_quants_batch_scalar(p, 10, x.data(), w.data(), lb.data(), sb.data(), mb.data());
  for (int k = 0; k < 10; ++k) {
    uint8_t l[32], aux[32];
    float the_min;
    const float s = make_qkx2_quants(32, 15, x.data() + 32 * k, w.data() + 32 * k, l, &the_min, aux, -1.0f, 0.1f, 20,
                                     false);
    REQUIRE(bits(s) == bits(sb[size_t(k)]));
    REQUIRE(bits(the_min) == bits(mb[size_t(k)]));
    REQUIRE(std::memcmp(l, lb.data() + 32 * k, 32) == 0);
  }
}

TEST_CASE("Q4_K / Q5_K rows: a block's bytes do not depend on the block searched beside it", "[kquant]") {
  // quantize_k4_blocks fits two blocks per batched search; a row of 3 blocks must equal its blocks
  // quantized one at a time, with and without importance weights.
  std::mt19937 g(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(768), w(768);
  for (float& v : x) v = normal(g);
  for (int i = 0; i < 256; ++i) x[256 + size_t(i)] = 0.0f;  // an all-zero middle block
  for (float& v : w) v = std::fabs(normal(g)) + 0.1f;
  using QuantizeRow = void (*)(const float*, void*, int64_t, const float*);
  const std::pair<QuantizeRow, size_t> types[] = {{quantize_row_q4_k, sizeof(BlockQ4K)},
                                                  {quantize_row_q5_k, sizeof(BlockQ5K)}};
  for (const auto& [quantize, block_bytes] : types) {
    for (const float* imp : {static_cast<const float*>(nullptr), static_cast<const float*>(w.data())}) {
      std::vector<uint8_t> row(3 * block_bytes), one(block_bytes);
      quantize(x.data(), row.data(), 768, imp);
      for (int b = 0; b < 3; ++b) {
        quantize(x.data() + 256 * b, one.data(), 256, imp ? imp + 256 * b : nullptr);
        REQUIRE(std::memcmp(one.data(), row.data() + size_t(b) * block_bytes, block_bytes) == 0);
      }
    }
  }
}
