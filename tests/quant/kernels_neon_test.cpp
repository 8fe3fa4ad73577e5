// NEON kernel tables (baseline and dotprod) against the scalar reference: converters byte for
// byte, quantized dots and tiles bit for bit, float dots within the double-sum rounding bound.
#if defined(__aarch64__)

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/fp16.h"
#include "quant/cpu_features.h"
#include "quant/kernels.h"
#include "quant/registry.h"
#include "quant/simd_neon.h"

namespace kq {
namespace {

// The NEON table without dotprod (even on a CPU that has it) and, where the CPU has it, with it.
struct NeonTables {
  std::unique_ptr<KernelTable> base, dot;
  NeonTables() {
    CpuFeatures c = cpu_features();
    c.dotprod = false;
    base = std::make_unique<KernelTable>();
    fill_kernels_scalar(*base);
    fill_kernels_neon(*base, c);
    fill_gemm_neon(*base, c);
    if (cpu_features().dotprod) {
      dot = std::make_unique<KernelTable>();
      fill_kernels_scalar(*dot);
      fill_kernels_neon(*dot, cpu_features());
      fill_gemm_neon(*dot, cpu_features());
    }
  }
  std::vector<const KernelTable*> all() const {
    std::vector<const KernelTable*> v{base.get()};
    if (dot) v.push_back(dot.get());
    return v;
  }
};

const NeonTables& tables() {
  static const NeonTables t;
  return t;
}

std::mt19937_64& rng() {
  static std::mt19937_64 g(20261124);
  return g;
}

float normal(float sigma) {
  // Box-Muller on mt19937_64 bits: the same values with every standard library.
  const double u1 = double(rng()() >> 11) * 0x1p-53 + 0x1p-53, u2 = double(rng()() >> 11) * 0x1p-53;
  return float(sigma * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
}

std::vector<float> normals(int64_t n, float sigma) {
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = normal(sigma);
  return v;
}

const QType kWeightTypes[] = {QType::F32,  QType::F16,  QType::BF16, QType::Q4_0, QType::Q4_1,
                              QType::Q5_0, QType::Q5_1, QType::Q8_0, QType::Q2_K, QType::Q3_K,
                              QType::Q4_K, QType::Q5_K, QType::Q6_K, QType::IQ4_NL, QType::IQ4_XS};

bool is_float_type(QType t) { return t == QType::F32 || t == QType::F16 || t == QType::BF16; }

// Byte offsets of the f16 scale fields of one block (the rest of a block may be any bytes).
std::vector<size_t> f16_fields(QType t) {
  switch (t) {
    case QType::Q4_1:
    case QType::Q5_1:
    case QType::Q4_K:
    case QType::Q5_K: return {0, 2};
    case QType::Q2_K: return {80, 82};
    case QType::Q3_K: return {108};
    case QType::Q6_K: return {208};
    default: return {0};
  }
}

// A row of random bytes with finite random scales: every bit pattern of the quants is reached
// (e.g. -128 in Q8_0 and in Q6_K's scales), which values from the quantizers never produce.
std::vector<uint8_t> random_blocks(QType t, int64_t n) {
  const TypeTraits& tt = type_traits(t);
  std::vector<uint8_t> row(row_size(t, n));
  for (auto& b : row) b = uint8_t(rng()());
  for (size_t off = 0; off < row.size(); off += tt.type_size)
    for (size_t f : f16_fields(t)) {
      const uint16_t h = fp32_to_fp16(normal(0.01f));
      std::memcpy(&row[off + f], &h, 2);
    }
  return row;
}

// A weight row: quantized from normals, or random blocks (quantized types only).
std::vector<uint8_t> weight_row(QType t, int64_t n, bool raw) {
  if (raw && !is_float_type(t)) return random_blocks(t, n);
  const auto x = normals(n, 1.0f);
  std::vector<uint8_t> row(row_size(t, n));
  type_traits(t).from_float(x.data(), row.data(), n, nullptr);
  return row;
}

std::vector<uint8_t> activation_row(QType w, int64_t n, float sigma) {
  const QType a = type_traits(w).vec_dot_type;
  auto x = normals(n, sigma);
  for (size_t i = 0; i < x.size(); i += 97) x[i] *= 8.0f;  // outliers
  std::vector<uint8_t> row(row_size(a, n));
  convert_row_reference(a, x.data(), row.data(), n);
  return row;
}

// Σ|x_i·y_i| of a float-type weight row and its activation row (of the weight's vec_dot_type),
// products in f32 as both implementations round them.
double abs_product_sum(QType t, const uint8_t* x, const uint8_t* y, int64_t n) {
  std::vector<float> fx(static_cast<size_t>(n)), fy(static_cast<size_t>(n));
  type_traits(t).to_float(x, fx.data(), n);
  type_traits(type_traits(t).vec_dot_type).to_float(y, fy.data(), n);
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += std::fabs(double(fx[size_t(i)] * fy[size_t(i)]));
  return s;
}

// Both sums add the same f32 products in double in different orders (each off by at most
// (n-1)·2^-53·Σ|p| from the exact sum), then round once to f32.
void check_float_dot(QType t, float got, float want, const uint8_t* x, const uint8_t* y, int64_t n) {
  const double bound = 2.0 * double(n) * 0x1p-53 * abs_product_sum(t, x, y, n) +
                       0x1p-23 * std::fmax(std::fabs(double(want)), std::fabs(double(got)));
  INFO(type_name(t) << " n=" << n << " got " << got << " want " << want);
  REQUIRE(std::fabs(double(got) - double(want)) <= bound);
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, 4) == 0; }

void check_converter(QType type, const std::vector<float>& x) {
  const int64_t n = int64_t(x.size());
  std::vector<uint8_t> want(row_size(type, n), 0x5A);
  convert_row_reference(type, x.data(), want.data(), n);
  for (const KernelTable* t : tables().all()) {
    std::vector<uint8_t> got(want.size(), 0xA5);
    t->convert[uint32_t(type)](x.data(), got.data(), n);
    INFO(type_name(type) << " n=" << n << " converter " << t->convert_name[uint32_t(type)]);
    REQUIRE(std::string(t->convert_name[uint32_t(type)]) == "neon");
    REQUIRE(got == want);
  }
}

// The kernels widen fp16 scales with FCVT instead of common/fp16's fp16_to_fp32: the same bits for
// all 65536 inputs (zeros, subnormals, normals, infinities, quiet NaNs with their payloads), except
// that FCVT quiets signaling NaNs (sets bit 22) where fp16_to_fp32 keeps them signaling.
TEST_CASE("NEON fp16 scale widening (FCVT) equals fp16_to_fp32 for every bit pattern", "[kernels][neon]") {
  std::vector<uint16_t> all(65536);
  for (size_t i = 0; i < all.size(); ++i) all[i] = uint16_t(i);
  int signaling = 0, scalar_bad = 0, vector_bad = 0;
  uint16_t first_bad = 0;
  for (size_t i = 0; i < all.size(); i += 4) {
    float v[4];
    vst1q_f32(v, neon::fp16x4_to_fp32_fcvt(&all[i]));
    for (size_t j = 0; j < 4; ++j) {
      const uint16_t h = all[i + j];
      uint32_t want = float_bits(fp16_to_fp32(h));
      if ((h & 0x7C00u) == 0x7C00u && (h & 0x3FFu) != 0 && (h & 0x200u) == 0) {
        REQUIRE((want & 0x00400000u) == 0);  // fp16_to_fp32 keeps it signaling
        want |= 0x00400000u;
        ++signaling;
      }
      const bool bad_s = float_bits(neon::fp16_to_fp32_fcvt(h)) != want, bad_v = float_bits(v[j]) != want;
      if ((bad_s || bad_v) && scalar_bad + vector_bad == 0) first_bad = h;
      scalar_bad += bad_s;
      vector_bad += bad_v;
    }
  }
  INFO("first mismatch at fp16 0x" << std::hex << first_bad);
  CHECK(scalar_bad == 0);
  CHECK(vector_bad == 0);
  CHECK(signaling == 2 * 511);  // both signs, mantissa 0x001..0x1FF
  // Spot checks against known values, independent of fp16_to_fp32.
  CHECK(neon::fp16_to_fp32_fcvt(0x3C00) == 1.0f);
  CHECK(neon::fp16_to_fp32_fcvt(0x0001) == 0x1p-24f);
  CHECK(neon::fp16_to_fp32_fcvt(0x83FF) == -1023 * 0x1p-24f);
  CHECK(neon::fp16_to_fp32_fcvt(0x7BFF) == 65504.0f);
  CHECK(float_bits(neon::fp16_to_fp32_fcvt(0xFC00)) == 0xFF800000u);
  CHECK(float_bits(neon::fp16_to_fp32_fcvt(0x7E01)) == 0x7FC02000u);
  CHECK(float_bits(neon::fp16_to_fp32_fcvt(0x7C01)) == 0x7FC02000u);  // signaling: quieted
}

TEST_CASE("NEON tables: names, and which table this CPU selects", "[kernels][neon]") {
  const NeonTables& t = tables();
  for (QType q : kWeightTypes) {
    REQUIRE(t.base->operator[](q).vec_dot != nullptr);
    REQUIRE(t.base->operator[](q).mul_rows != nullptr);
    REQUIRE(std::string(t.base->operator[](q).name) == "neon");
    if (t.dot) {
      const std::string want = is_float_type(q) ? "neon" : "neon-dotprod";
      REQUIRE(std::string(t.dot->operator[](q).name) == want);
    }
  }
  // Under qemu-aarch64 the CPU model is known: "max" has dotprod, a Cortex-A72 (ARMv8.0) has not.
  if (const char* model = std::getenv("QEMU_CPU")) {
    if (std::string(model) == "max") REQUIRE(cpu_features().dotprod);
    if (std::string(model) == "cortex-a72" || std::string(model) == "cortex-a53") REQUIRE(!cpu_features().dotprod);
  }
  const char* isa = std::getenv("KQ_ISA");
  if (!isa || !*isa) {
    REQUIRE(kernels().isa == Isa::kNeon);
    REQUIRE(std::string(kernels()[QType::Q4_K].name) == (cpu_features().dotprod ? "neon-dotprod" : "neon"));
  }
}

TEST_CASE("NEON Q8_0/Q8_0H/Q8_1/Q8_K converters equal the reference byte for byte", "[kernels][neon]") {
  for (QType type : {QType::Q8_0, QType::Q8_0H, QType::Q8_1, QType::Q8_K}) {
    for (float sigma : {1e-30f, 1e-3f, 1.0f, 1e4f}) check_converter(type, normals(1024, sigma));
    // Ties: halves of the scale land exactly on .5 after x·(127/amax) for amax = 127.
    std::vector<float> ties(512);
    for (size_t i = 0; i < ties.size(); ++i) ties[i] = float(int(i % 255) - 127) * 0.5f;
    for (size_t i = 0; i < ties.size(); i += 32) ties[i] = 127.0f;
    check_converter(type, ties);
    // Zero blocks, a block with only negative values, an extreme at the end, repeated extremes.
    std::vector<float> edge(1024, 0.0f);
    for (int i = 256; i < 512; ++i) edge[size_t(i)] = -float(i % 7) - 0.25f;
    for (int i = 512; i < 768; ++i) edge[size_t(i)] = float(i % 5) * 0.1f;
    edge[767] = -3.0f;
    for (int i = 768; i < 1024; ++i) edge[size_t(i)] = (i % 2 ? 2.0f : -2.0f);
    check_converter(type, edge);
    // Subnormal-sized values (Q8_K: -127/max overflows and the reference switches formula).
    check_converter(type, normals(512, 1e-39f));
    // Infinities and NaNs in a block.
    auto special = normals(512, 1.0f);
    special[3] = std::numeric_limits<float>::infinity();
    special[300] = std::numeric_limits<float>::quiet_NaN();
    check_converter(type, special);
  }
}

TEST_CASE("NEON F16/BF16 converters equal the reference bit for bit", "[kernels][neon]") {
  for (QType type : {QType::F16, QType::BF16}) {
    for (int64_t n : {1, 7, 8, 9, 1000}) check_converter(type, normals(n, 1.0f));
    // Every rounding case: values around f16/bf16 rounding boundaries, overflow, subnormals.
    std::vector<float> x;
    for (uint32_t e : {0x00u, 0x01u, 0x33u, 0x38u, 0x39u, 0x66u, 0x7Eu, 0x8Eu, 0x8Fu, 0xFEu, 0xFFu})
      for (uint32_t m : {0x0u, 0x1u, 0xFFFu, 0x1000u, 0x1001u, 0x3000u, 0x7FFFu, 0x8000u, 0x8001u, 0x18000u,
                         0x400000u, 0x7FE000u, 0x7FEFFFu, 0x7FF000u, 0x7FFFFFu})
        for (uint32_t s : {0u, 0x80000000u}) x.push_back(bits_float(s | (e << 23) | m));
    check_converter(type, x);
    // Random bit patterns, NaN payloads included.
    std::vector<float> bits(4096);
    for (auto& f : bits) f = bits_float(uint32_t(rng()()));
    check_converter(type, bits);
  }
}

TEST_CASE("NEON dot products equal the scalar reference", "[kernels][neon]") {
  for (QType type : kWeightTypes) {
    const TypeTraits& tt = type_traits(type);
    const std::vector<int64_t> lengths =
        is_float_type(type) ? std::vector<int64_t>{1, 7, 8, 37, 256, 1000}
                            : std::vector<int64_t>{tt.block_size, 4 * tt.block_size, 16 * 256};
    for (int64_t n : lengths) {
      for (bool raw : {false, true}) {
        const auto w = weight_row(type, n, raw);
        const auto a = activation_row(type, n, raw ? 30.0f : 1.0f);
        const float want = tt.vec_dot(n, w.data(), a.data());
        for (const KernelTable* t : tables().all()) {
          const float got = (*t)[type].vec_dot(n, w.data(), a.data());
          INFO(type_name(type) << " n=" << n << (raw ? " random blocks " : " quantized ") << (*t)[type].name);
          if (is_float_type(type)) {
            check_float_dot(type, got, want, w.data(), a.data(), n);
          } else {
            // Integer sums are exact and the float steps follow the reference's order.
            INFO("got " << got << " want " << want);
            REQUIRE(same_bits(got, want));
          }
        }
      }
    }
  }
}

TEST_CASE("NEON mul_rows: each row equals its vec_dot wherever it sits in the tile", "[kernels][neon]") {
  for (QType type : kWeightTypes) {
    const TypeTraits& tt = type_traits(type);
    const int64_t k = is_float_type(type) ? 203 : 2 * std::max<int64_t>(tt.block_size, 32);
    const int64_t k_blocks = is_float_type(type) ? k : (k / tt.block_size) * tt.block_size;
    const QType at = tt.vec_dot_type;
    const size_t w_row = row_size(type, k_blocks), a_row = row_size(at, k_blocks);
    const int64_t rows = 11;
    const int n_tok = 6;  // one 4-token group and two single tokens
    // Rows padded apart (w_stride > row bytes) to check that the stride, not the size, is used.
    const size_t w_stride = w_row + 6, a_stride = a_row + 10;
    std::vector<uint8_t> w(w_stride * size_t(rows), 0xEE), act(a_stride * size_t(n_tok), 0xEE);
    for (int64_t r = 0; r < rows; ++r) {
      const auto row = weight_row(type, k_blocks, r % 2 == 1);
      std::memcpy(&w[size_t(r) * w_stride], row.data(), w_row);
    }
    for (int tok = 0; tok < n_tok; ++tok) {
      const auto row = activation_row(type, k_blocks, 1.0f);
      std::memcpy(&act[size_t(tok) * a_stride], row.data(), a_row);
    }
    for (const KernelTable* t : tables().all()) {
      const TypeKernels& kern = (*t)[type];
      // Tiles of every size from every start row: a row's result may not depend on either.
      for (int64_t first = 0; first < rows; ++first) {
        for (int64_t count = 1; first + count <= rows; ++count) {
          const size_t ldy = size_t(count) + 2;
          std::vector<float> y(ldy * size_t(n_tok), -7.0f);
          MatmulTile tile;
          tile.k = k_blocks;
          tile.w = &w[size_t(first) * w_stride];
          tile.w_stride = w_stride;
          tile.n_rows = count;
          tile.act = act.data();
          tile.act_stride = a_stride;
          tile.n_tok = n_tok;
          tile.y = y.data();
          tile.ldy = ldy;
          kern.mul_rows(tile);
          for (int tok = 0; tok < n_tok; ++tok) {
            for (size_t r = 0; r < ldy; ++r) {
              const float got = y[size_t(tok) * ldy + r];
              INFO(type_name(type) << " " << kern.name << " first=" << first << " count=" << count << " tok=" << tok
                                   << " r=" << r);
              if (int64_t(r) >= count) {
                REQUIRE(got == -7.0f);  // outside the tile: untouched
                continue;
              }
              const uint8_t* wr = &w[size_t(first + int64_t(r)) * w_stride];
              const uint8_t* ar = &act[size_t(tok) * a_stride];
              REQUIRE(same_bits(got, kern.vec_dot(k_blocks, wr, ar)));
              if (!is_float_type(type)) REQUIRE(same_bits(got, tt.vec_dot(k_blocks, wr, ar)));
            }
          }
        }
      }
    }
  }
}

// The prefill gemm (dotprod only) over raw random blocks, which reach every level and scale (Q3_K's
// −4 · −32, Q2_K's 3 · 15, Q6_K's −128 scales): bit for bit the reference vec_dot, for tiles of
// every row count 1..19 (micro-tile tails), token counts around the 4-token groups, and padded strides.
TEST_CASE("NEON dotprod gemm equals the reference vec_dot bit for bit", "[kernels][neon][gemm]") {
  for (QType type : kWeightTypes) REQUIRE((*tables().base)[type].gemm == nullptr);  // ARMv8.0: decode tiles
  if (!tables().dot) return;
  int covered = 0;
  for (QType type : kWeightTypes) {
    const TypeKernels& kern = (*tables().dot)[type];
    if (!kern.gemm) continue;
    ++covered;
    const TypeTraits& tt = type_traits(type);
    const int64_t k = 3 * 256;
    const int64_t rows = 19;
    const int n_tok = 9;
    const size_t w_row = row_size(type, k), a_row = row_size(tt.vec_dot_type, k);
    const size_t w_stride = w_row + 6, a_stride = a_row + 10;
    std::vector<uint8_t> w(w_stride * size_t(rows), 0xEE), act(a_stride * size_t(n_tok), 0xEE);
    for (int64_t r = 0; r < rows; ++r) {
      const auto row = weight_row(type, k, r % 3 != 0);
      std::memcpy(&w[size_t(r) * w_stride], row.data(), w_row);
    }
    for (int tok = 0; tok < n_tok; ++tok) {
      const auto row = activation_row(type, k, 1.0f + float(tok % 3));
      std::memcpy(&act[size_t(tok) * a_stride], row.data(), a_row);
    }
    std::vector<uint8_t> scratch(kern.gemm_scratch(k));
    for (int64_t count : {1, 3, 4, 7, 8, 9, 16, 19}) {
      for (int toks : {1, 3, 4, 5, 9}) {
        const size_t ldy = size_t(count) + 2;
        std::vector<float> y(ldy * size_t(n_tok), -7.0f);
        MatmulTile tile;
        tile.k = k;
        tile.w = w.data() + size_t(rows - count) * w_stride;
        tile.w_stride = w_stride;
        tile.n_rows = count;
        tile.act = act.data();
        tile.act_stride = a_stride;
        tile.n_tok = toks;
        tile.y = y.data();
        tile.ldy = ldy;
        tile.scratch = scratch.data();
        kern.gemm(tile);
        for (int tok = 0; tok < n_tok; ++tok) {
          for (size_t r = 0; r < ldy; ++r) {
            const float got = y[size_t(tok) * ldy + r];
            INFO(type_name(type) << " " << kern.gemm_name << " rows=" << count << " toks=" << toks << " tok=" << tok
                                 << " r=" << r);
            if (int64_t(r) >= count || tok >= toks) {
              REQUIRE(got == -7.0f);  // outside the tile: untouched
              continue;
            }
            const uint8_t* wr = &w[size_t(rows - count + int64_t(r)) * w_stride];
            REQUIRE(same_bits(got, tt.vec_dot(k, wr, &act[size_t(tok) * a_stride])));
          }
        }
      }
    }
  }
  // Every quantized type but Q8_0 (whose activation format is changing) has the dotprod gemm.
  REQUIRE(covered == 11);
}

TEST_CASE("NEON baseline and dotprod tables give identical results", "[kernels][neon]") {
  if (!tables().dot) return;  // this CPU has no dotprod
  for (QType type : kWeightTypes) {
    const int64_t n = 8 * 256;
    const auto w = weight_row(type, n, true);
    const auto a = activation_row(type, n, 3.0f);
    INFO(type_name(type));
    REQUIRE(same_bits((*tables().base)[type].vec_dot(n, w.data(), a.data()),
                      (*tables().dot)[type].vec_dot(n, w.data(), a.data())));
  }
}

}  // namespace
}  // namespace kq

#endif  // __aarch64__
