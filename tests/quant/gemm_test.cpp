// Prefill GEMM kernels against the scalar reference vec_dot: every type, tile shape and ISA level that has one
// (x86 within the float-order bound, NEON bit for bit).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/fp16.h"
#include "quant/gemm_pack.h"
#include "quant/k_common.h"
#include "quant/kernels.h"
#include "quant/registry.h"

namespace kq {
namespace {

const QType kWeightTypes[] = {QType::Q4_0, QType::Q4_1, QType::Q5_0, QType::Q5_1, QType::Q8_0, QType::Q2_K,
                              QType::Q3_K, QType::Q4_K, QType::Q5_K, QType::Q6_K, QType::IQ4_NL, QType::IQ4_XS};

struct AlignedBuffer {
  explicit AlignedBuffer(size_t n) : bytes(n + 64), data(new uint8_t[bytes]) {}
  uint8_t* get() { return reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(data.get()) + 63) & ~uintptr_t(63)); }
  size_t bytes;
  std::unique_ptr<uint8_t[]> data;
};

std::vector<float> random_floats(std::mt19937_64& gen, int64_t n, float sigma) {
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(gen);
  // A few large values so that activation levels reach ±127 and weight blocks get outliers.
  for (int64_t i = 0; i < n; i += 97) v[size_t(i)] *= 6.0f;
  return v;
}

// |dmin · m| (or |m| for Q4_1/Q5_1) of the block holding element e: the size of the min part
// that cancels against d·sc·q in the dequantized value, read from the format (formats.md B.3/B.4).
float min_part(QType t, const uint8_t* row, int64_t e) {
  switch (t) {
    case QType::Q4_1:
    case QType::Q5_1: {
      const uint8_t* b = row + size_t(e / 32) * type_traits(t).type_size;
      uint16_t m;
      std::memcpy(&m, b + 2, 2);
      return std::fabs(fp16_to_fp32(m));
    }
    case QType::Q4_K:
    case QType::Q5_K: {
      const uint8_t* b = row + size_t(e / 256) * type_traits(t).type_size;
      uint16_t dmin;
      std::memcpy(&dmin, b + 2, 2);
      uint8_t sc, m;
      get_scale_min_k4(int(e % 256) / 32, b + 4, &sc, &m);
      return std::fabs(fp16_to_fp32(dmin)) * float(m);
    }
    case QType::Q2_K: {
      const uint8_t* b = row + size_t(e / 256) * type_traits(t).type_size;
      uint16_t dmin;
      std::memcpy(&dmin, b + 82, 2);
      return std::fabs(fp16_to_fp32(dmin)) * float(b[(e % 256) / 16] >> 4);
    }
    default: return 0.0f;
  }
}

// Weights, converted activations, scalar reference results and error bounds for one type and k.
struct Problem {
  QType type;
  int64_t k;
  int rows, toks;
  size_t w_row, a_row;
  std::vector<uint8_t> w, act;
  std::vector<float> ref, bound;  // [t * rows + r]

  Problem(QType type_, int64_t k_, int rows_, int toks_, uint64_t seed) : type(type_), k(k_), rows(rows_), toks(toks_) {
    const TypeTraits& tt = type_traits(type);
    const TypeTraits& at = type_traits(tt.vec_dot_type);
    w_row = row_size(type, k);
    a_row = row_size(tt.vec_dot_type, k);
    w.resize(w_row * size_t(rows));
    act.resize(a_row * size_t(toks));
    std::mt19937_64 gen(seed);
    std::vector<std::vector<float>> wf(static_cast<size_t>(rows)), af(static_cast<size_t>(toks));
    for (int r = 0; r < rows; ++r) {
      const std::vector<float> x = random_floats(gen, k, 0.02f * float(1 + r % 3));
      tt.from_float(x.data(), w.data() + size_t(r) * w_row, k, nullptr);
      wf[size_t(r)].resize(size_t(k));
      tt.to_float(w.data() + size_t(r) * w_row, wf[size_t(r)].data(), k);
    }
    for (int t = 0; t < toks; ++t) {
      const std::vector<float> x = random_floats(gen, k, 1.0f + float(t % 5));
      convert_row_reference(tt.vec_dot_type, x.data(), act.data() + size_t(t) * a_row, k);
      af[size_t(t)].resize(size_t(k));
      at.to_float(act.data() + size_t(t) * a_row, af[size_t(t)].data(), k);
    }
    // Both sides sum the same exact integers per block; they differ only in how the block terms
    // are scaled and summed in float: each of the k/block terms is rounded a few times, and the
    // running sums round once per block, so |error| <= (blocks + 8) · 4 · 2^-24 · Σ|parts|.
    const double blocks = double(k / tt.block_size);
    const double rel = (blocks + 8.0) * 4.0 * 0x1p-24;
    ref.resize(size_t(rows) * size_t(toks));
    bound.resize(ref.size());
    for (int t = 0; t < toks; ++t) {
      for (int r = 0; r < rows; ++r) {
        const uint8_t* wr = w.data() + size_t(r) * w_row;
        ref[size_t(t) * size_t(rows) + size_t(r)] = tt.vec_dot(k, wr, act.data() + size_t(t) * a_row);
        double mag = 0;
        for (int64_t e = 0; e < k; ++e)
          mag += (std::fabs(double(wf[size_t(r)][size_t(e)])) + 2.0 * min_part(type, wr, e)) *
                 std::fabs(double(af[size_t(t)][size_t(e)]));
        bound[size_t(t) * size_t(rows) + size_t(r)] = float(rel * mag);
      }
    }
  }

  // Runs the gemm over rows [r0, r0+n_rows) and tokens [t0, t0+n_tok); y is [t * rows + r].
  std::vector<float> run(const TypeKernels& kern, int r0, int n_rows, int t0, int n_tok) const {
    std::vector<float> y(size_t(rows) * size_t(toks), std::nanf(""));
    AlignedBuffer scratch(kern.gemm_scratch ? kern.gemm_scratch(k) : 0);
    MatmulTile tile;
    tile.k = k;
    tile.w = w.data() + size_t(r0) * w_row;
    tile.w_stride = w_row;
    tile.n_rows = n_rows;
    tile.act = act.data() + size_t(t0) * a_row;
    tile.act_stride = a_row;
    tile.n_tok = n_tok;
    tile.y = y.data() + size_t(t0) * size_t(rows) + size_t(r0);
    tile.ldy = size_t(rows);
    tile.scratch = scratch.get();
    kern.gemm(tile);
    return y;
  }
};

std::vector<const KernelTable*> gemm_tables() {
  std::vector<const KernelTable*> out;
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512, Isa::kNeon}) {
    if (const KernelTable* t = kernel_table(isa)) out.push_back(t);
  }
  return out;
}

}  // namespace

TEST_CASE("gemm equals the scalar vec_dot within the float-order bound, for every tile shape", "[gemm]") {
  int checked = 0;
  for (const KernelTable* table : gemm_tables()) {
    for (QType type : kWeightTypes) {
      const TypeKernels& kern = (*table)[type];
      if (!kern.gemm) continue;
      for (int64_t k : {256, 512, 2304}) {
        const int rows = 33, toks = 100;
        const Problem p(type, k, rows, toks, 1000 + uint64_t(type) * 7 + uint64_t(k));
        const std::vector<float> full = p.run(kern, 0, rows, 0, toks);
        for (int t = 0; t < toks; ++t) {
          for (int r = 0; r < rows; ++r) {
            const size_t i = size_t(t) * size_t(rows) + size_t(r);
            INFO(isa_name(table->isa) << " " << type_name(type) << " k=" << k << " row " << r << " tok " << t);
            REQUIRE(std::fabs(full[i] - p.ref[i]) <= p.bound[i]);
            // NEON repeats the reference's float operations per (row, token): exactly its bits.
            if (table->isa == Isa::kNeon) REQUIRE(std::memcmp(&full[i], &p.ref[i], sizeof(float)) == 0);
          }
        }
        // A row's result must not depend on the tile it sits in: every sub-tile equals `full` bit for bit.
        for (int n_rows : {1, 5, 16, 33}) {
          for (int n_tok : {1, 7, 64, 100}) {
            const int r0 = (rows - n_rows) / 2, t0 = (toks - n_tok) / 3;
            const std::vector<float> y = p.run(kern, r0, n_rows, t0, n_tok);
            for (int t = 0; t < toks; ++t) {
              for (int r = 0; r < rows; ++r) {
                const size_t i = size_t(t) * size_t(rows) + size_t(r);
                const bool inside = r >= r0 && r < r0 + n_rows && t >= t0 && t < t0 + n_tok;
                INFO(isa_name(table->isa) << " " << type_name(type) << " k=" << k << " tile rows " << r0 << "+"
                                          << n_rows << " toks " << t0 << "+" << n_tok << " at " << r << "," << t);
                if (inside) {
                  REQUIRE(std::memcmp(&y[i], &full[i], sizeof(float)) == 0);
                } else {
                  REQUIRE(std::isnan(y[i]));  // nothing outside the tile is written
                }
              }
            }
          }
        }
        ++checked;
      }
      CHECK(kern.gemm_rows > 0);
      CHECK(kern.gemm_min_tokens >= 1);
      CHECK(std::string(kern.gemm_name).size() > 0);
    }
  }
  // On an AVX-512 VNNI machine every weight type must have a gemm (3 sizes each).
  const CpuFeatures& cpu = cpu_features();
  if (cpu.avx512vnni && cpu.supports(Isa::kAvx512)) CHECK(checked >= int(std::size(kWeightTypes)) * 3);
  // On an ARM CPU with dotprod every weight type but Q8_0 must have one.
  if (cpu.dotprod && cpu.supports(Isa::kNeon)) CHECK(checked >= (int(std::size(kWeightTypes)) - 1) * 3);
}

TEST_CASE("gemm handles all-zero weights and activations", "[gemm]") {
  for (const KernelTable* table : gemm_tables()) {
    for (QType type : kWeightTypes) {
      const TypeKernels& kern = (*table)[type];
      if (!kern.gemm) continue;
      const TypeTraits& tt = type_traits(type);
      const int64_t k = 512;
      std::vector<float> zeros(size_t(k), 0.0f);
      std::vector<uint8_t> w(row_size(type, k) * 3), act(row_size(tt.vec_dot_type, k) * 9);
      for (int r = 0; r < 3; ++r) tt.from_float(zeros.data(), w.data() + size_t(r) * row_size(type, k), k, nullptr);
      for (int t = 0; t < 9; ++t)
        convert_row_reference(tt.vec_dot_type, zeros.data(), act.data() + size_t(t) * row_size(tt.vec_dot_type, k), k);
      std::vector<float> y(27, std::nanf(""));
      AlignedBuffer scratch(kern.gemm_scratch(k));
      MatmulTile tile;
      tile.k = k;
      tile.w = w.data();
      tile.w_stride = row_size(type, k);
      tile.n_rows = 3;
      tile.act = act.data();
      tile.act_stride = row_size(tt.vec_dot_type, k);
      tile.n_tok = 9;
      tile.y = y.data();
      tile.ldy = 3;
      tile.scratch = scratch.get();
      kern.gemm(tile);
      for (float v : y) REQUIRE(v == 0.0f);
    }
  }
}

// The level decomposition every gemm builds on (gemm_pack.h, mirrored by the SIMD unpackers):
// d·sc·w − dmin·m (super-blocks) and d·w + m (legacy blocks) reproduce the registry's dequantized
// values up to the float rounding of those few products.
template <class Block>
void check_super_levels(QType type) {
  const int64_t k = 1024;
  std::mt19937_64 gen(static_cast<uint64_t>(type));
  const std::vector<float> x = random_floats(gen, k, 0.05f);
  std::vector<uint8_t> q(row_size(type, k));
  type_traits(type).from_float(x.data(), q.data(), k, nullptr);
  std::vector<float> ref(static_cast<size_t>(k));
  type_traits(type).to_float(q.data(), ref.data(), k);
  const int group = gemm::SuperInfo<Block>::kGroup;
  for (int64_t sb = 0; sb < k / 256; ++sb) {
    gemm::SuperLevels lv;
    gemm::unpack_super(reinterpret_cast<const Block*>(q.data())[sb], lv);
    for (int e = 0; e < 256; ++e) {
      const double scaled = double(lv.d) * lv.sc[e / group] * lv.w[e];
      const double min = gemm::SuperInfo<Block>::kMin ? double(lv.dmin) * lv.m[e / group] : 0.0;
      INFO(type_name(type) << " element " << 256 * sb + e);
      REQUIRE(std::fabs(scaled - min - ref[size_t(256 * sb + e)]) <= 0x1p-22 * (std::fabs(scaled) + std::fabs(min)));
    }
  }
}

template <class Block>
void check_legacy_levels(QType type) {
  const int64_t k = 1024;
  std::mt19937_64 gen(static_cast<uint64_t>(type));
  const std::vector<float> x = random_floats(gen, k, 0.05f);
  std::vector<uint8_t> q(row_size(type, k));
  type_traits(type).from_float(x.data(), q.data(), k, nullptr);
  std::vector<float> ref(static_cast<size_t>(k));
  type_traits(type).to_float(q.data(), ref.data(), k);
  for (int64_t b = 0; b < k / 32; ++b) {
    gemm::LegacyLevels lv;
    gemm::unpack_legacy(reinterpret_cast<const Block*>(q.data())[b], lv);
    for (int e = 0; e < 32; ++e) {
      const double scaled = double(lv.d) * lv.w[e];
      INFO(type_name(type) << " element " << 32 * b + e);
      REQUIRE(std::fabs(scaled + lv.m - ref[size_t(32 * b + e)]) <= 0x1p-22 * (std::fabs(scaled) + std::fabs(lv.m)));
    }
  }
}

TEST_CASE("gemm levels: the unpacked decomposition reproduces the dequantized weights", "[gemm]") {
  check_super_levels<BlockQ2K>(QType::Q2_K);
  check_super_levels<BlockQ3K>(QType::Q3_K);
  check_super_levels<BlockQ4K>(QType::Q4_K);
  check_super_levels<BlockQ5K>(QType::Q5_K);
  check_super_levels<BlockQ6K>(QType::Q6_K);
  check_super_levels<BlockIQ4XS>(QType::IQ4_XS);
  check_legacy_levels<BlockQ4_0>(QType::Q4_0);
  check_legacy_levels<BlockQ4_1>(QType::Q4_1);
  check_legacy_levels<BlockQ5_0>(QType::Q5_0);
  check_legacy_levels<BlockQ5_1>(QType::Q5_1);
  check_legacy_levels<BlockQ8_0>(QType::Q8_0);
  check_legacy_levels<BlockIQ4NL>(QType::IQ4_NL);
}

// Single-thread throughput on a 2048-column × 8192-row weight with 512 tokens (KQ_BENCH_TYPES=Q4_K,Q8_0 to pick
// types, KQ_BENCH_TOKS tokens, KQ_BENCH_K columns with the row count scaled to the same work).
TEST_CASE("gemm throughput", "[.bench]") {
  const KernelTable& table = kernels();
  const char* only = std::getenv("KQ_BENCH_TYPES");
  for (QType type : kWeightTypes) {
    const TypeKernels& kern = table[type];
    if (!kern.gemm) continue;
    if (only && !std::string(only).empty() && std::string(only).find(type_name(type)) == std::string::npos) continue;
    const int64_t k = std::getenv("KQ_BENCH_K") ? std::atoi(std::getenv("KQ_BENCH_K")) : 2048;
    const int rows = int(8192 * 2048 / k), distinct = 64;
    const int toks = std::getenv("KQ_BENCH_TOKS") ? std::atoi(std::getenv("KQ_BENCH_TOKS")) : 512;
    const Problem p(type, k, distinct, 1, 7);
    const TypeTraits& tt = type_traits(type);
    std::vector<uint8_t> w(p.w_row * size_t(rows));
    for (int r = 0; r < rows; ++r) std::memcpy(w.data() + size_t(r) * p.w_row, p.w.data() + size_t(r % distinct) * p.w_row, p.w_row);
    const size_t a_row = row_size(tt.vec_dot_type, k);
    std::vector<uint8_t> act(a_row * toks);
    std::mt19937_64 gen(3);
    for (int t = 0; t < toks; ++t) {
      const std::vector<float> x = random_floats(gen, k, 1.0f);
      convert_row_reference(tt.vec_dot_type, x.data(), act.data() + size_t(t) * a_row, k);
    }
    std::vector<float> y(size_t(rows) * toks);
    AlignedBuffer scratch(kern.gemm_scratch(k));
    // Thread CPU time, best of 5: the machine is shared, and descheduled time is not the kernel's.
    auto cpu_now = [] {
      timespec ts;
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
      return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
    };
    double best = 1e30;
    for (int rep = 0; rep < 5; ++rep) {
      const double t0 = cpu_now();
      for (int r0 = 0; r0 < rows; r0 += kern.gemm_rows) {
        MatmulTile tile;
        tile.k = k;
        tile.w = w.data() + size_t(r0) * p.w_row;
        tile.w_stride = p.w_row;
        tile.n_rows = std::min(kern.gemm_rows, rows - r0);
        tile.act = act.data();
        tile.act_stride = a_row;
        tile.n_tok = toks;
        tile.y = y.data() + r0;
        tile.ldy = size_t(rows);
        tile.scratch = scratch.get();
        kern.gemm(tile);
      }
      best = std::min(best, cpu_now() - t0);
    }
    const double gop = 2.0 * double(k) * rows * toks / 1e9;
    std::printf("%-7s %-22s n_tok %d: %7.1f GOP/s (%.3f s thread CPU, best of 5)\n", type_name(type), kern.gemm_name, toks, gop / best, best);
  }
}

// Where gemm starts to beat the decode path: thread CPU time of both over the same 2048 × 4096
// weight for small token counts (KQ_BENCH_TYPES as above).
TEST_CASE("gemm vs decode crossover", "[.bench]") {
  const KernelTable& table = kernels();
  const char* only = std::getenv("KQ_BENCH_TYPES");
  auto cpu_now = [] {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
  };
  for (QType type : kWeightTypes) {
    const TypeKernels& kern = table[type];
    if (!kern.gemm) continue;
    if (only && !std::string(only).empty() && std::string(only).find(type_name(type)) == std::string::npos) continue;
    const int64_t k = 2048;
    const int rows = 4096, distinct = 64, max_tok = 32;
    const Problem p(type, k, distinct, 1, 7);
    const TypeTraits& tt = type_traits(type);
    std::vector<uint8_t> w(p.w_row * size_t(rows));
    for (int r = 0; r < rows; ++r) std::memcpy(w.data() + size_t(r) * p.w_row, p.w.data() + size_t(r % distinct) * p.w_row, p.w_row);
    const size_t a_row = row_size(tt.vec_dot_type, k);
    std::vector<uint8_t> act(a_row * max_tok);
    std::mt19937_64 gen(3);
    for (int t = 0; t < max_tok; ++t) {
      const std::vector<float> x = random_floats(gen, k, 1.0f);
      convert_row_reference(tt.vec_dot_type, x.data(), act.data() + size_t(t) * a_row, k);
    }
    std::vector<float> y(size_t(rows) * max_tok);
    AlignedBuffer scratch(kern.gemm_scratch(k));
    std::printf("%-7s decode %s / gemm %s (ms, thread CPU, best of 5):", type_name(type), kern.name, kern.gemm_name);
    for (int n_tok : {1, 2, 4, 6, 8, 12, 16, 24, 32}) {
      double best[2] = {1e30, 1e30};
      for (int path = 0; path < 2; ++path) {
        for (int rep = 0; rep < 5; ++rep) {
          const double t0 = cpu_now();
          const int chunk = path ? kern.gemm_rows : 256;
          for (int r0 = 0; r0 < rows; r0 += chunk) {
            MatmulTile tile;
            tile.k = k;
            tile.w = w.data() + size_t(r0) * p.w_row;
            tile.w_stride = p.w_row;
            tile.n_rows = std::min(chunk, rows - r0);
            tile.act = act.data();
            tile.act_stride = a_row;
            tile.n_tok = n_tok;
            tile.y = y.data() + r0;
            tile.ldy = size_t(rows);
            tile.scratch = scratch.get();
            if (path) {
              kern.gemm(tile);
            } else if (kern.mul_rows) {
              kern.mul_rows(tile);
            } else {
              mul_rows_by_vec_dot(kern.vec_dot, tile);
            }
          }
          best[path] = std::min(best[path], cpu_now() - t0);
        }
      }
      std::printf(" %d:%.2f/%.2f", n_tok, 1e3 * best[0], 1e3 * best[1]);
    }
    std::printf("\n");
  }
}

}  // namespace kq
