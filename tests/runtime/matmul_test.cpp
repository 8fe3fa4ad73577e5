// Tests for runtime/matmul: every weight type against dequantize + double dot, threads, activation rounding.
#include "runtime/matmul.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "common/fp16.h"
#include "quant/q8_0.h"
#include "quant/q8_1.h"
#include "quant/registry.h"

namespace {

struct Quantized {
  std::vector<uint8_t> bytes;  // [rows] rows of the weight type
  kq::TensorView view;
};

Quantized quantize_matrix(kq::QType type, const std::vector<float>& w, int64_t k, int64_t rows) {
  const kq::TypeTraits& tt = kq::type_traits(type);
  Quantized q;
  const size_t rb = kq::row_size(type, k);
  q.bytes.resize(rb * size_t(rows));
  for (int64_t r = 0; r < rows; ++r) tt.from_float(w.data() + r * k, q.bytes.data() + size_t(r) * rb, k, nullptr);
  q.view.type = type;
  q.view.ne = {k, rows, 1, 1};
  q.view.row_bytes = rb;
  q.view.data = q.bytes.data();
  return q;
}

}  // namespace

TEST_CASE("matmul: every weight type equals dequantized weights times converted activations", "[model]") {
  const int64_t k = 512, rows = 37;
  const int n = 5;
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> w(size_t(k * rows)), x(size_t(k) * n);
  for (float& v : w) v = nd(rng);
  for (float& v : x) v = 2.0f * nd(rng);

  for (size_t i = 0; i < kq::kTypeCount; ++i) {
    const kq::TypeTraits& tt = kq::kTypeTraits[i];
    if (tt.activation_only) continue;
    INFO("weight type " << tt.name);
    const Quantized q = quantize_matrix(tt.type, w, k, rows);
    std::vector<uint8_t> scratch(kq::matmul_scratch_bytes(q.view, n, 2));
    std::vector<float> y1(size_t(rows) * n), y2(size_t(rows) * n);
    kq::matmul(q.view, x.data(), n, y1.data(), scratch.data(), 1);
    kq::matmul(q.view, x.data(), n, y2.data(), scratch.data(), 2);
    CHECK(y1 == y2);  // rows split over threads, same arithmetic per row

    // Reference: both operands dequantized, products summed in double.
    const kq::TypeTraits& at = kq::type_traits(tt.vec_dot_type);
    std::vector<float> wd(static_cast<size_t>(k)), xd(static_cast<size_t>(k));
    std::vector<uint8_t> xa(kq::row_size(at.type, k));
    // Q8_1's s = f16(d·Σq) rounds the min term of Q4_1/Q5_1 dots, as in ggml; allow for it.
    const double rel = tt.vec_dot_type == kq::QType::Q8_1 ? 2e-3 : 2e-6;
    for (int t = 0; t < n; ++t) {
      kq::quantize_activations(at.type, x.data() + size_t(t) * k, xa.data(), k);
      at.to_float(xa.data(), xd.data(), k);
      for (int64_t r = 0; r < rows; ++r) {
        tt.to_float(q.view.row(r), wd.data(), k);
        double ref = 0, mag = 0;
        for (int64_t j = 0; j < k; ++j) {
          ref += double(wd[size_t(j)]) * xd[size_t(j)];
          mag += std::fabs(double(wd[size_t(j)]) * xd[size_t(j)]);
        }
        CHECK(std::fabs(y1[size_t(t) * rows + size_t(r)] - ref) <= rel * mag);
      }
    }
  }
}

TEST_CASE("matmul: F32 weights read activations in place and need no scratch", "[model]") {
  std::vector<float> w = {1, 2, 3, 4, 5, 6}, x = {1, -1, 0.5f, 2, 0, 1};
  kq::TensorView v;
  v.type = kq::QType::F32;
  v.ne = {3, 2, 1, 1};
  v.row_bytes = 12;
  v.data = reinterpret_cast<const uint8_t*>(w.data());
  CHECK(kq::matmul_scratch_bytes(v, 2, 1) <= 64);  // alignment slack only
  std::vector<float> y(4);
  kq::matmul(v, x.data(), 2, y.data(), nullptr, 1);
  CHECK(y == std::vector<float>{1 - 2 + 1.5f, 4 - 5 + 3, 2 + 3, 8 + 6});
}

TEST_CASE("quantize_activations: Q8_0/Q8_1 round x*127/amax half to even, like ggml's AVX kernels", "[model]") {
  std::vector<float> x(32, 0.0f);
  x[0] = 127.0f;  // amax = 127, so q = round(x) exactly
  x[1] = 0.5f, x[2] = 1.5f, x[3] = -2.5f, x[4] = 3.4f;
  kq::BlockQ8_0 a{}, ref{};
  kq::quantize_activations(kq::QType::Q8_0, x.data(), &a, 32);
  kq::type_traits(kq::QType::Q8_0).from_float(x.data(), &ref, 32, nullptr);
  CHECK(a.d == ref.d);
  CHECK(int(a.qs[1]) == 0);  // ties to even, where the scalar reference rounds away from zero
  CHECK(int(a.qs[2]) == 2);
  CHECK(int(a.qs[3]) == -2);
  CHECK(int(ref.qs[1]) == 1);
  CHECK(int(ref.qs[3]) == -3);
  CHECK(int(a.qs[4]) == 3);
  CHECK(int(a.qs[0]) == 127);

  kq::BlockQ8_1 b{};
  kq::quantize_activations(kq::QType::Q8_1, x.data(), &b, 32);
  CHECK(b.d == a.d);
  int sum = 0;
  for (int j = 0; j < 32; ++j) {
    sum += b.qs[j];
    CHECK(b.qs[j] == a.qs[j]);
  }
  CHECK(b.s == kq::fp32_to_fp16(1.0f * float(sum)));  // s = d·Σq with d = 127/127
}
