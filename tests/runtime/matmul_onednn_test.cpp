// Tests for runtime/matmul_onednn: oneDNN's prefill for F32 / F16 / BF16 weights against the exact
// dot within the any-order f32 summation bound, the policy per ISA level, and its scratch sizing.
#include "runtime/matmul_onednn.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/fp16.h"
#include "quant/kernels.h"
#include "runtime/matmul.h"

namespace {

constexpr double kU = 0x1p-24;  // unit roundoff of f32

// Weights of `type` (rows × k, padded rows so that reading past a row shows) and their exact f32 values.
struct FloatWeights {
  std::vector<uint8_t> bytes;
  std::vector<float> wf;  // [rows][k] widened values
  kq::TensorView view;

  FloatWeights(kq::QType type, int64_t k, int64_t rows, std::mt19937& rng) {
    const size_t elem = type == kq::QType::F32 ? 4 : 2;
    const size_t row_bytes = size_t(k) * elem + 32;  // a stride that is not the dense one
    bytes.assign(row_bytes * size_t(rows), 0xFF);    // padding reads as NaN
    wf.resize(size_t(rows * k));
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t i = 0; i < k; ++i) {
        float v = nd(rng) * (i % 61 == 7 ? 40.0f : 1.0f);
        uint8_t* dst = bytes.data() + size_t(r) * row_bytes + size_t(i) * elem;
        if (type == kq::QType::F32) {
          std::memcpy(dst, &v, 4);
        } else {
          const uint16_t h = type == kq::QType::F16 ? kq::fp32_to_fp16(v) : kq::fp32_to_bf16(v);
          std::memcpy(dst, &h, 2);
          v = type == kq::QType::F16 ? kq::fp16_to_fp32(h) : kq::bf16_to_fp32(h);
        }
        wf[size_t(r * k + i)] = v;
      }
    }
    view.type = type;
    view.ne = {k, rows, 1, 1};
    view.row_bytes = row_bytes;
    view.data = bytes.data();
  }
};

bool simd_level() { return kq::kernels().isa == kq::Isa::kAvx2 || kq::kernels().isa == kq::Isa::kAvx512; }

// Checks y (n × rows) against the exact dot of each (token, row): any order of summing k f32
// products (rounded products or FMAs) errs by at most γ_k · Σ|w·x|, γ_k = k·u / (1 - k·u).
void check_within_bound(const FloatWeights& w, const std::vector<float>& x, int n, const std::vector<float>& y) {
  const int64_t k = w.view.ne[0], rows = w.view.n_rows();
  const double gamma = double(k) * kU / (1.0 - double(k) * kU);
  for (int t = 0; t < n; ++t) {
    for (int64_t r = 0; r < rows; ++r) {
      double sum = 0, mag = 0;
      for (int64_t i = 0; i < k; ++i) {
        const double p = double(w.wf[size_t(r * k + i)]) * double(x[size_t(t * k + i)]);
        sum += p;  // each product of two 24-bit significands is exact in double
        mag += std::fabs(p);
      }
      const float got = y[size_t(t * rows + r)];
      INFO("token " << t << " row " << r << " got " << got << " exact " << sum);
      REQUIRE(std::fabs(double(got) - sum) <= gamma * mag);
    }
  }
}

}  // namespace

TEST_CASE("onednn: F32, F16 and BF16 prefill within the summation bound of the exact dot", "[model]") {
  if (!simd_level()) {
    // The scalar level is the reference: oneDNN is never used there, nor can it be called.
    for (kq::QType t : {kq::QType::F32, kq::QType::F16, kq::QType::BF16}) CHECK(kq::onednn_prefill(t).name == nullptr);
    std::mt19937 rng(1);
    const FloatWeights w(kq::QType::F32, 64, 8, rng);
    std::vector<float> x(64 * 40, 1.0f), y(8 * 40);
    CHECK_THROWS_AS(kq::onednn_matmul(w.view, x.data(), 40, y.data(), nullptr, 1), kq::Error);
    return;
  }
  // k not a multiple of 16; 300 rows make F16 / BF16 a full 256-row panel plus a partial one.
  const int64_t k = 1030, rows = 300;
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (kq::QType type : {kq::QType::F32, kq::QType::F16, kq::QType::BF16}) {
    const FloatWeights w(type, k, rows, rng);
    for (int n : {33, 64}) {
      std::vector<float> x(size_t(n * k));
      for (size_t i = 0; i < x.size(); ++i) x[i] = nd(rng) * (i % 37 == 5 ? 25.0f : 1.0f) * (1.0f + 0x1p-20f);
      for (int threads : {1, 2}) {
        INFO(kq::type_name(type) << " n=" << n << " threads=" << threads);
        // Scratch planned for more tokens than this call, as a session plans for its batch size.
        std::vector<uint8_t> scratch(kq::onednn_matmul_scratch_bytes(w.view, 64, threads));
        std::vector<float> y(size_t(n * rows), std::numeric_limits<float>::quiet_NaN());
        kq::onednn_matmul(w.view, x.data(), n, y.data(), scratch.data(), threads);
        check_within_bound(w, x, n, y);
        // matmul itself takes oneDNN exactly where the policy says, with the same bound either way.
        const kq::OnednnPrefill p = kq::onednn_prefill(type);
        CHECK(kq::onednn_matmul_used(w.view, n) == (p.name != nullptr && n >= p.min_tokens));
        std::vector<uint8_t> mm(kq::matmul_scratch_bytes(w.view, n, threads));
        std::vector<float> y2(y.size(), std::numeric_limits<float>::quiet_NaN());
        kq::matmul(w.view, x.data(), n, y2.data(), mm.data(), threads);
        check_within_bound(w, x, n, y2);
      }
    }
  }
}

TEST_CASE("onednn: the policy sends F32 prefill to oneDNN at both x86 SIMD levels, from 32 tokens", "[model]") {
  const kq::OnednnPrefill f32 = kq::onednn_prefill(kq::QType::F32);
  CHECK((f32.name != nullptr) == simd_level());
  for (kq::QType t : {kq::QType::Q4_K, kq::QType::Q8_0, kq::QType::Q4_0}) CHECK(kq::onednn_prefill(t).name == nullptr);
  if (!simd_level()) return;
  // oneDNN is capped at the selected level: KQ_ISA=avx2 really runs AVX2 code on an AVX-512 CPU.
  CHECK(std::string(kq::onednn_isa()) == (kq::kernels().isa == kq::Isa::kAvx2 ? "avx2" : "avx512_core"));
  CHECK(f32.min_tokens == 32);
  std::mt19937 rng(3);
  const FloatWeights w(kq::QType::F32, 64, 16, rng);
  CHECK_FALSE(kq::onednn_matmul_used(w.view, 31));  // decode and short batches keep the kernel table
  CHECK(kq::onednn_matmul_used(w.view, 32));
}
