// AVX2 kernel table against the scalar reference: every weight type's vec_dot and mul_rows on
// random, quantized and edge blocks; activation converters byte for byte; a hidden throughput bench.
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/fp16.h"
#include "quant/kernels.h"
#include "quant/registry.h"
#include "runtime/matmul.h"
#include "runtime/tensor.h"

namespace {

using kq::QType;

const kq::KernelTable* avx2_table() {
  const kq::KernelTable* t = kq::kernel_table(kq::Isa::kAvx2);
  if (!t) WARN("this CPU or build has no AVX2 level; AVX2 kernel tests skipped");
  return t;
}

// Where a weight block keeps its f16 scales, and (types with a min) its level bits: zeroing the
// levels and dequantizing gives the min part b of x = a - b, which the error bound needs.
struct BlockLayout {
  QType type;
  std::vector<int> f16_fields;
  std::vector<std::pair<int, int>> levels;  // [begin, end) byte ranges, only for types with a min
};

const std::vector<BlockLayout>& quantized_layouts() {
  static const std::vector<BlockLayout> l = {
      {QType::Q4_0, {0}, {}},          {QType::Q4_1, {0, 2}, {{4, 20}}},  {QType::Q5_0, {0}, {}},
      {QType::Q5_1, {0, 2}, {{4, 24}}}, {QType::Q8_0, {0}, {}},           {QType::IQ4_NL, {0}, {}},
      {QType::Q2_K, {80, 82}, {{16, 80}}}, {QType::Q3_K, {108}, {}},      {QType::Q4_K, {0, 2}, {{16, 144}}},
      {QType::Q5_K, {0, 2}, {{16, 176}}}, {QType::Q6_K, {208}, {}},       {QType::IQ4_XS, {0}, {}},
  };
  return l;
}

std::vector<float> gaussian(int64_t n, uint64_t seed, float sigma = 1.0f) {
  std::mt19937_64 rng(seed);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) {
    const double u1 = (double(rng() >> 11) + 1.0) * 0x1p-53, u2 = double(rng() >> 11) * 0x1p-53;
    v = sigma * float(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }
  return x;
}

std::vector<uint8_t> quantize(QType t, const std::vector<float>& x) {
  std::vector<uint8_t> q(kq::row_size(t, int64_t(x.size())));
  kq::type_traits(t).from_float(x.data(), q.data(), int64_t(x.size()), nullptr);
  return q;
}

std::vector<float> dequantize(QType t, const uint8_t* q, int64_t n) {
  std::vector<float> y(static_cast<size_t>(n));
  kq::type_traits(t).to_float(q, y.data(), n);
  return y;
}

// A weight row of n elements: kind 0 quantized Gaussian with outliers, 1 random bytes with sane
// f16 scales, 2.. edge patterns (constant bytes with extreme or subnormal scales).
std::vector<uint8_t> weight_row(QType t, int64_t n, int kind, uint64_t seed) {
  const kq::TypeTraits& tt = kq::type_traits(t);
  std::mt19937_64 rng(seed);
  if (!tt.is_quantized) {
    auto x = gaussian(n, seed, kind == 0 ? 1.0f : 1000.0f);
    if (kind >= 2)
      for (int64_t i = 0; i < n; i += 3) x[size_t(i)] = (i % 2 ? 65504.0f : -6e-8f);
    return quantize(t, x);
  }
  if (kind == 0) {
    auto x = gaussian(n, seed);
    for (int64_t i = 37; i < n; i += 128) x[size_t(i)] *= 8.0f;
    return quantize(t, x);
  }
  const BlockLayout* layout = nullptr;
  for (const auto& l : quantized_layouts())
    if (l.type == t) layout = &l;
  REQUIRE(layout != nullptr);
  std::vector<uint8_t> q(kq::row_size(t, n));
  static const uint8_t kPatterns[] = {0x00, 0xFF, 0x80, 0x7F, 0x88, 0x0F, 0xF0, 0x55};
  static const float kScales[] = {1.0f, 65504.0f, 0x1p-24f, -2.0f, 0x1p-14f};
  const size_t bs = tt.type_size;
  for (size_t b = 0; b < q.size() / bs; ++b) {
    uint8_t* block = q.data() + b * bs;
    if (kind == 1) {
      for (size_t i = 0; i < bs; ++i) block[i] = uint8_t(rng());
    } else {
      std::memset(block, kPatterns[(size_t(kind) + b) % 8], bs);
    }
    for (size_t f = 0; f < layout->f16_fields.size(); ++f) {
      float v = kind == 1 ? std::ldexp(float(rng() % 1000 + 1) / 1000.0f, int(rng() % 16) - 12) * (rng() % 2 ? 1 : -1)
                          : kScales[(size_t(kind) + b + f) % 5];
      const uint16_t h = kq::fp32_to_fp16(v);
      std::memcpy(block + layout->f16_fields[f], &h, 2);
    }
  }
  return q;
}

// An activation row already converted to t's vec_dot type, through the scalar reference.
std::vector<uint8_t> activation_row(QType weight, int64_t n, int kind, uint64_t seed) {
  const QType act = kq::type_traits(weight).vec_dot_type;
  std::vector<float> x = gaussian(n, seed, 2.0f);
  if (kind == 1)
    for (int64_t i = 0; i < n; ++i) x[size_t(i)] = (i % 2) ? 1.0f : -1.0f;  // every level ±127
  if (kind == 2)
    for (int64_t i = 0; i < n; ++i) x[size_t(i)] = (i % 64 < 32) ? 0.0f : 3.0f;  // zero blocks, all +127
  std::vector<uint8_t> out(kq::row_size(act, n));
  kq::convert_row_reference(act, x.data(), out.data(), n);
  return out;
}

// Σ|terms| of the dot: (|x| + 2|b|)·|y| per element, b the min part for types with a min.
double magnitude(QType t, const uint8_t* w, const uint8_t* a, int64_t n) {
  const QType act = kq::type_traits(t).vec_dot_type;
  const auto x = dequantize(t, w, n);
  const auto y = dequantize(act, a, n);
  std::vector<float> b(size_t(n), 0.0f);
  for (const auto& l : quantized_layouts()) {
    if (l.type != t || l.levels.empty()) continue;
    std::vector<uint8_t> zeroed(w, w + kq::row_size(t, n));
    const size_t bs = kq::type_traits(t).type_size;
    for (size_t blk = 0; blk < zeroed.size() / bs; ++blk)
      for (const auto& [lo, hi] : l.levels) std::memset(zeroed.data() + blk * bs + lo, 0, size_t(hi - lo));
    b = dequantize(t, zeroed.data(), n);
  }
  double m = 0;
  for (int64_t i = 0; i < n; ++i)
    m += (std::fabs(double(x[size_t(i)])) + 2.0 * std::fabs(double(b[size_t(i)]))) * std::fabs(double(y[size_t(i)]));
  return m;
}

// Both sums round at most `chain` times along any path (blocks per lane or elements per lane, the
// per-block scale products and the horizontal sum); the two errors add.
double dot_bound(QType t, int64_t n, double mag) {
  const kq::TypeTraits& tt = kq::type_traits(t);
  const int64_t groups = n / (tt.vec_dot_type == QType::Q8_0H ? 16 : tt.block_size);  // scaled integer sums
  const double chain = tt.is_quantized ? double(groups) + 12.0 : double(n) / 16.0 + 16.0;
  return 2.0 * chain * 0x1p-24 * mag + 1e-30;
}

std::vector<QType> weight_types() {
  std::vector<QType> v;
  for (size_t i = 0; i < kq::kTypeCount; ++i)
    if (!kq::kTypeTraits[i].activation_only) v.push_back(kq::kTypeTraits[i].type);
  return v;
}

int64_t row_length(QType t, int which) {
  const int64_t bs = kq::type_traits(t).block_size;
  if (bs == 1) return which == 0 ? 16 : which == 1 ? 37 : 2048 + 13;  // tails for the float types
  return which == 0 ? bs : which == 1 ? 3 * bs : bs * (bs == 32 ? 64 : 8);
}

}  // namespace

TEST_CASE("avx2: every weight type's vec_dot matches the scalar reference", "[kernels][avx2]") {
  const kq::KernelTable* avx = avx2_table();
  if (!avx) return;
  for (QType t : weight_types()) {
    const kq::TypeTraits& tt = kq::type_traits(t);
    DYNAMIC_SECTION(tt.name) {
      REQUIRE(std::string((*avx)[t].name) == "avx2");
      REQUIRE((*avx)[t].vec_dot != nullptr);
      for (int which = 0; which < 3; ++which) {
        const int64_t n = row_length(t, which);
        for (int wk = 0; wk < 10; ++wk) {
          for (int ak = 0; ak < 3; ++ak) {
            const auto w = weight_row(t, n, wk, 1000 + uint64_t(wk) * 7 + uint64_t(which));
            const auto a = activation_row(t, n, ak, 2000 + uint64_t(ak) * 5 + uint64_t(wk));
            const float ref = tt.vec_dot(n, w.data(), a.data());
            const float got = (*avx)[t].vec_dot(n, w.data(), a.data());
            const double bound = dot_bound(t, n, magnitude(t, w.data(), a.data(), n));
            INFO("n " << n << " weight kind " << wk << " activation kind " << ak << " ref " << ref << " avx2 " << got
                      << " bound " << bound);
            REQUIRE(std::isfinite(got));
            REQUIRE(std::fabs(double(got) - double(ref)) <= bound);
          }
        }
      }
    }
  }
}

TEST_CASE("avx2: mul_rows equals vec_dot bit for bit whatever the tile shape", "[kernels][avx2]") {
  const kq::KernelTable* avx = avx2_table();
  if (!avx) return;
  for (QType t : weight_types()) {
    const kq::TypeTraits& tt = kq::type_traits(t);
    const QType act = tt.vec_dot_type;
    DYNAMIC_SECTION(tt.name) {
      const kq::TypeKernels& k = (*avx)[t];
      REQUIRE(k.mul_rows != nullptr);
      const int64_t n = row_length(t, 1);
      const size_t w_row = kq::row_size(t, n), a_row = kq::row_size(act, n);
      const size_t w_stride = w_row + 16, a_stride = a_row + 16;  // padded: strides are honoured
      for (int n_rows : {1, 3, 4, 5, 17, 64}) {
        for (int n_tok : {1, 2, 3, 5}) {
          std::vector<uint8_t> w(w_stride * size_t(n_rows)), a(a_stride * size_t(n_tok));
          for (int r = 0; r < n_rows; ++r) {
            const auto row = weight_row(t, n, r % 4, 3000 + uint64_t(r));
            std::memcpy(w.data() + size_t(r) * w_stride, row.data(), w_row);
          }
          for (int tok = 0; tok < n_tok; ++tok) {
            const auto row = activation_row(t, n, tok % 3, 4000 + uint64_t(tok));
            std::memcpy(a.data() + size_t(tok) * a_stride, row.data(), a_row);
          }
          const size_t ldy = size_t(n_rows) + 3;
          std::vector<float> y(ldy * size_t(n_tok), -12345.0f);
          kq::MatmulTile tile;
          tile.k = n;
          tile.w = w.data();
          tile.w_stride = w_stride;
          tile.n_rows = n_rows;
          tile.act = a.data();
          tile.act_stride = a_stride;
          tile.n_tok = n_tok;
          tile.y = y.data();
          tile.ldy = ldy;
          k.mul_rows(tile);
          for (int tok = 0; tok < n_tok; ++tok) {
            for (size_t r = 0; r < ldy; ++r) {
              const float got = y[size_t(tok) * ldy + r];
              if (r >= size_t(n_rows)) {
                REQUIRE(got == -12345.0f);  // the padding between tokens is not written
                continue;
              }
              const uint8_t* wr = w.data() + r * w_stride;
              const uint8_t* ar = a.data() + size_t(tok) * a_stride;
              INFO("rows " << n_rows << " tokens " << n_tok << " row " << r << " token " << tok);
              const float single = k.vec_dot(n, wr, ar);
              REQUIRE(std::memcmp(&got, &single, 4) == 0);
              const float ref = tt.vec_dot(n, wr, ar);
              REQUIRE(std::fabs(double(got) - double(ref)) <= dot_bound(t, n, magnitude(t, wr, ar, n)));
            }
          }
        }
      }
    }
  }
}

TEST_CASE("avx2: activation converters are byte-identical to the reference", "[kernels][avx2]") {
  const kq::KernelTable* avx = avx2_table();
  if (!avx) return;
  const int64_t n = 512;
  std::vector<std::pair<std::string, std::vector<float>>> rows;
  rows.push_back({"gaussian", gaussian(n, 5, 3.0f)});
  rows.push_back({"zeros", std::vector<float>(size_t(n), 0.0f)});
  std::vector<float> ties(static_cast<size_t>(n));
  // amax = 127 makes the Q8_0 scale 1 and a -127 extreme makes the Q8_K scale 1: exact .5 ties.
  for (int64_t i = 0; i < n; ++i) ties[size_t(i)] = float(i % 64) - 63.5f;
  for (int64_t i = 0; i < n; i += 32) ties[size_t(i)] = -127.0f;
  rows.push_back({"ties", ties});
  std::vector<float> first(size_t(n), 0.25f);
  for (int64_t i = 0; i < n; i += 16) first[size_t(i)] = (i / 16) % 2 ? 5.0f : -5.0f;  // equal |max|, first wins
  rows.push_back({"equal extremes", first});
  rows.push_back({"tiny (non-finite Q8_K scale)", gaussian(n, 6, 1e-38f)});
  rows.push_back({"subnormal", gaussian(n, 7, 1e-42f)});
  rows.push_back({"huge", gaussian(n, 8, 1e37f)});
  std::vector<float> mixed = gaussian(n, 9, 1.0f);
  for (int64_t i = 0; i < 256; ++i) mixed[size_t(i)] = 0.0f;  // a zero Q8_K block next to a normal one
  rows.push_back({"zero block then normal", mixed});
  for (const auto& [name, x] : rows) {
    for (QType t : {QType::Q8_0, QType::Q8_0H, QType::Q8_1, QType::Q8_K, QType::F16, QType::BF16}) {
      INFO(name << " -> " << kq::type_name(t));
      REQUIRE(std::string(avx->convert_name[uint32_t(t)]) == "avx2");
      std::vector<uint8_t> ref(kq::row_size(t, n), 0xA5), got(kq::row_size(t, n), 0x5A);
      kq::convert_row_reference(t, x.data(), ref.data(), n);
      avx->convert[uint32_t(t)](x.data(), got.data(), n);
      REQUIRE(ref == got);
    }
  }
}

TEST_CASE("avx2: F16 and BF16 converters match on special values and odd lengths", "[kernels][avx2]") {
  const kq::KernelTable* avx = avx2_table();
  if (!avx) return;
  std::vector<float> x;
  const uint32_t specials[] = {0x7F800000u, 0xFF800000u, 0x7FC00000u, 0x7F800001u, 0xFFFFFFFFu, 0x7FBFFFFFu,
                               0x00000001u, 0x80000001u, 0x007FFFFFu, 0x80000000u, 0x7F7FFFFFu, 0xFF7FFFFFu,
                               0x33000000u, 0x33000001u, 0x33800000u, 0x387FE000u, 0x38800000u, 0x477FEFFFu,
                               0x477FF000u, 0x477FE000u, 0x3F808000u, 0x3F818000u, 0x3F800001u, 0x3F807FFFu};
  for (uint32_t u : specials) x.push_back(kq::bits_float(u));
  // Random bit patterns cover every exponent, NaN payloads and f16 subnormal rounding.
  std::mt19937_64 rng(42);
  for (int i = 0; i < 4000; ++i) x.push_back(kq::bits_float(uint32_t(rng())));
  for (int i = 0; i < 4000; ++i) x.push_back(std::ldexp(float(rng() % 100000) / 100000.0f, int(rng() % 40) - 30));
  for (int64_t n : {int64_t(x.size()), int64_t(37), int64_t(8), int64_t(7), int64_t(1)}) {
    for (QType t : {QType::F16, QType::BF16}) {
      INFO(kq::type_name(t) << " n " << n);
      std::vector<uint16_t> ref(size_t(n), 0xA5A5), got(size_t(n), 0x5A5A);
      kq::convert_row_reference(t, x.data(), ref.data(), n);
      avx->convert[uint32_t(t)](x.data(), got.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        INFO("element " << i << " bits " << kq::float_bits(x[size_t(i)]));
        REQUIRE(ref[size_t(i)] == got[size_t(i)]);
      }
    }
  }
}

// Matvec throughput of the selected table (set KQ_ISA=avx2 to pin the level): GB/s of weight bytes
// for one 8192×2048 matrix (rows × k, the llama-1b ffn_up shape) and for 8 of them in turn (beyond L3).
TEST_CASE("avx2: matvec throughput", "[.bench]") {
  const int64_t k = 2048, rows = 8192;
  std::vector<float> x = gaussian(k, 1);
  std::vector<float> y(static_cast<size_t>(rows));
  for (QType t : {QType::Q4_K, QType::Q6_K, QType::Q8_0, QType::Q4_0, QType::Q5_K, QType::F16}) {
    const size_t row_bytes = kq::row_size(t, k);
    const int n_mats = 8;
    std::vector<std::vector<uint8_t>> mats;
    for (int m = 0; m < n_mats; ++m) {
      std::vector<uint8_t> w(row_bytes * size_t(rows));
      // One quantized row repeated (quantizing 8192 rows per matrix takes too long for a bench).
      const auto one = weight_row(t, k, 0, 77 + uint64_t(m));
      for (int64_t r = 0; r < rows; ++r) std::memcpy(w.data() + size_t(r) * row_bytes, one.data(), row_bytes);
      mats.push_back(std::move(w));
    }
    for (int threads : {1, 2}) {
      for (int cycle : {1, n_mats}) {
        kq::TensorView v;
        v.type = t;
        v.ne = {k, rows, 1, 1};
        v.row_bytes = row_bytes;
        std::vector<uint8_t> scratch(kq::matmul_scratch_bytes(v, 1, threads));
        // Fastest single matvec of many: robust to other processes sharing the cores.
        double best = 1e30;
        for (int i = 0; i < 300; ++i) {
          v.data = mats[size_t(i % cycle)].data();
          const auto t0 = std::chrono::steady_clock::now();
          kq::matmul(v, x.data(), 1, y.data(), scratch.data(), threads);
          best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        std::printf("%-5s %s threads %d %s: %.3f ms per matvec, %.1f GB/s\n", kq::type_name(t),
                    kq::kernels()[t].name, threads, cycle == 1 ? "one matrix (L3)" : "8 matrices (DRAM)", best * 1e3,
                    double(row_bytes) * double(rows) / best * 1e-9);
      }
    }
  }
}
