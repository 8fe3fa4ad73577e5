// Every kernel table level this CPU runs, against the scalar references: converters byte-equal, dot products,
// decode tiles and GEMM tiles within a derived float bound, and each row's result independent of its tile.
#include "quant/kernels.h"

#include <catch2/catch.hpp>

#include "common/fp16.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace kq;

namespace {

std::vector<const KernelTable*> available_tables() {
  std::vector<const KernelTable*> out;
  for (Isa i : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kNeon})
    if (const KernelTable* t = kernel_table(i)) out.push_back(t);
  return out;
}

// Weight types (every registry type that is stored as weights).
std::vector<QType> weight_types() {
  std::vector<QType> out;
  for (size_t i = 0; i < kTypeCount; ++i)
    if (!kTypeTraits[i].activation_only) out.push_back(kTypeTraits[i].type);
  return out;
}

bool has_min(QType t) {
  return t == QType::Q4_1 || t == QType::Q5_1 || t == QType::Q2_K || t == QType::Q4_K || t == QType::Q5_K;
}

// Float rows of a few shapes: gaussian, one outlier per 32, all zero, huge and tiny magnitudes, ties.
std::vector<float> make_rows(int kind, int64_t k, int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> v(size_t(k * n));
  for (size_t i = 0; i < v.size(); ++i) {
    switch (kind) {
      case 0: v[i] = nd(rng); break;
      case 1: v[i] = (i % 32 == 7) ? 40.0f * nd(rng) : 0.1f * nd(rng); break;
      case 2: v[i] = 0.0f; break;
      case 3: v[i] = 300.0f * nd(rng); break;  // large, yet Q8_1 s = d·Σq stays finite in F16
      case 4: v[i] = 1.0e-6f * nd(rng); break;
      // Exact halves with amax 127 per block: every x·127/amax is a rounding tie.
      default: v[i] = (i % 32 == 0) ? 127.0f : float(int(i % 200) - 100) + 0.5f; break;
    }
  }
  return v;
}

struct Matrix {
  QType type;
  int64_t k, rows;
  size_t row_bytes;
  std::vector<uint8_t> data;
  const uint8_t* row(int64_t r) const { return data.data() + size_t(r) * row_bytes; }
};

Matrix quantize_matrix(QType t, const std::vector<float>& src, int64_t k, int64_t rows) {
  Matrix m{t, k, rows, row_size(t, k), {}};
  m.data.resize(m.row_bytes * size_t(rows));
  for (int64_t r = 0; r < rows; ++r)
    type_traits(t).from_float(src.data() + size_t(r * k), m.data.data() + size_t(r) * m.row_bytes, k, nullptr);
  return m;
}

// Allowed |kernel − reference| for one dot: each of the ~k/16 block-level float operations may round
// (twice with a separate multiply and add), relative to the magnitude of the terms summed.
// act: the activation row in its vec_dot type (Q8_1's stored s = f16(d·Σq) enters the min term as
// it is, which for tiny activations need not equal the sum of the dequantized values).
double dot_bound(QType wt, const Matrix& w, int64_t r, const std::vector<float>& xd, const uint8_t* act) {
  std::vector<float> wd(size_t(w.k));
  type_traits(wt).to_float(w.row(r), wd.data(), w.k);
  double wmax = 0, mag = 0;
  for (float f : wd) wmax = std::max(wmax, double(std::fabs(f)));
  for (int64_t i = 0; i < w.k; ++i)
    mag += std::fabs(double(xd[size_t(i)])) * (std::fabs(double(wd[size_t(i)])) + (has_min(wt) ? 2 * wmax : 0.0));
  if (type_traits(wt).vec_dot_type == QType::Q8_1)
    for (int64_t b = 0; b < w.k / 32; ++b) {
      uint16_t s;
      std::memcpy(&s, act + size_t(b) * 36 + 2, 2);
      mag += 2 * wmax * std::fabs(double(fp16_to_fp32(s)));
    }
  const double ops = double(w.k) / 16.0 + 8.0;
  return 2.0 * ops * std::ldexp(1.0, -24) * mag + 1e-30;
}

struct Acts {
  QType type;
  size_t row_bytes;
  std::vector<uint8_t> data;      // converted with the reference converter
  std::vector<std::vector<float>> deq;  // each row dequantized
};

Acts make_acts(QType act_type, const std::vector<float>& x, int64_t k, int n) {
  Acts a{act_type, act_type == QType::F32 ? size_t(k) * 4 : row_size(act_type, k), {}, {}};
  a.data.resize(a.row_bytes * size_t(n));
  for (int t = 0; t < n; ++t) {
    uint8_t* dst = a.data.data() + size_t(t) * a.row_bytes;
    convert_row_reference(act_type, x.data() + size_t(t * k), dst, k);
    std::vector<float> d(static_cast<size_t>(k));
    type_traits(act_type).to_float(dst, d.data(), k);
    a.deq.push_back(std::move(d));
  }
  return a;
}

void check_tile(const KernelTable& table, QType wt, const Matrix& w, const Acts& a, int n_tok, bool gemm) {
  const TypeKernels& tk = table[wt];
  const TypeKernels& ref = kernel_table(Isa::kScalar)->operator[](wt);
  std::vector<float> y(size_t(n_tok) * size_t(w.rows), NAN);
  std::vector<uint8_t> scratch(tk.gemm_scratch ? tk.gemm_scratch(w.k) + 64 : 64);
  uint8_t* aligned = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(scratch.data()) + 63) / 64 * 64);
  MatmulTile tile;
  tile.k = w.k;
  tile.w = w.row(0);
  tile.w_stride = w.row_bytes;
  tile.n_rows = w.rows;
  tile.act = a.data.data();
  tile.act_stride = a.row_bytes;
  tile.n_tok = n_tok;
  tile.y = y.data();
  tile.ldy = size_t(w.rows);
  tile.scratch = aligned;
  if (gemm) {
    tk.gemm(tile);
  } else if (tk.mul_rows) {
    tk.mul_rows(tile);
  } else {
    mul_rows_by_vec_dot(tk.vec_dot, tile);
  }
  for (int t = 0; t < n_tok; ++t) {
    const uint8_t* act = a.data.data() + size_t(t) * a.row_bytes;
    for (int64_t r = 0; r < w.rows; ++r) {
      const float want = ref.vec_dot(w.k, w.row(r), act);
      const float got = y[size_t(t) * size_t(w.rows) + size_t(r)];
      INFO((gemm ? "gemm " : "mul_rows ") << tk.name << " rows " << w.rows << " tokens " << n_tok << " row " << r
                                          << " token " << t << " want " << want << " got " << got);
      REQUIRE(std::fabs(double(got) - double(want)) <= dot_bound(wt, w, r, a.deq[size_t(t)], act));
    }
  }
  // The same rows as a tile of their own (last row alone, first token alone) give bit-identical results.
  std::vector<float> y1(1, NAN);
  MatmulTile one = tile;
  one.w = w.row(w.rows - 1);
  one.n_rows = 1;
  one.n_tok = 1;
  one.y = y1.data();
  one.ldy = 1;
  if (gemm) {
    tk.gemm(one);
  } else if (tk.mul_rows) {
    tk.mul_rows(one);
  } else {
    mul_rows_by_vec_dot(tk.vec_dot, one);
  }
  INFO("row result depends on its tile: " << (gemm ? tk.gemm_name : tk.name));
  CHECK(y1[0] == y[size_t(w.rows - 1)]);
}

}  // namespace

TEST_CASE("kernels: the scalar level is always there and KQ_ISA picks a level this CPU has", "[kernels]") {
  REQUIRE(kernel_table(Isa::kScalar) != nullptr);
  const CpuFeatures& cpu = cpu_features();
  CHECK(kernel_table(cpu.best()) != nullptr);
  CHECK(cpu.supports(kernels().isa));
  for (Isa i : {Isa::kAvx2, Isa::kAvx512, Isa::kNeon})
    if (!cpu.supports(i)) CHECK(kernel_table(i) == nullptr);
  for (QType t : weight_types()) CHECK(kernels()[t].vec_dot != nullptr);
}

TEST_CASE("kernels: every level's activation converters equal the reference byte for byte", "[kernels]") {
  std::mt19937 rng(11);
  const QType acts[] = {QType::Q8_0, QType::Q8_0H, QType::Q8_1, QType::Q8_K, QType::F16, QType::BF16, QType::F32};
  for (const KernelTable* table : available_tables()) {
    for (QType at : acts) {
      for (int64_t k : {256, 512, 4096}) {
        for (int kind = 0; kind < 6; ++kind) {
          INFO(isa_name(table->isa) << " converter to " << type_name(at) << " (" << table->convert_name[uint32_t(at)]
                                    << ") k " << k << " input kind " << kind);
          const std::vector<float> x = make_rows(kind, k, 1, rng);
          const size_t bytes = at == QType::F32 ? size_t(k) * 4 : row_size(at, k);
          std::vector<uint8_t> want(bytes, 0xAA), got(bytes, 0x55);
          convert_row_reference(at, x.data(), want.data(), k);
          table->convert[uint32_t(at)](x.data(), got.data(), k);
          CHECK(std::memcmp(want.data(), got.data(), bytes) == 0);
        }
      }
    }
  }
}

TEST_CASE("kernels: every level's dot products match the scalar reference within the derived bound", "[kernels]") {
  std::mt19937 rng(12);
  for (const KernelTable* table : available_tables()) {
    for (QType wt : weight_types()) {
      const TypeTraits& tt = type_traits(wt);
      const TypeKernels& tk = (*table)[wt];
      for (int64_t k : {256, 768, 2816}) {
        for (int kind = 0; kind < 6; ++kind) {
          const int rows = 3;
          const Matrix w = quantize_matrix(wt, make_rows(kind, k, rows, rng), k, rows);
          const Acts a = make_acts(tt.vec_dot_type, make_rows((kind + 3) % 6, k, 2, rng), k, 2);
          for (int r = 0; r < rows; ++r) {
            for (int t = 0; t < 2; ++t) {
              const uint8_t* act = a.data.data() + size_t(t) * a.row_bytes;
              const float want = tt.vec_dot(k, w.row(r), act);
              const float got = tk.vec_dot(k, w.row(r), act);
              INFO(isa_name(table->isa) << " " << tt.name << " dot (" << tk.name << ") k " << k << " kind " << kind
                                        << " want " << want << " got " << got);
              REQUIRE(std::fabs(double(got) - double(want)) <= dot_bound(wt, w, r, a.deq[size_t(t)], act));
            }
          }
        }
      }
    }
  }
}

TEST_CASE("kernels: decode tiles of any shape match the reference and keep each row's result", "[kernels]") {
  std::mt19937 rng(13);
  for (const KernelTable* table : available_tables()) {
    for (QType wt : weight_types()) {
      const TypeTraits& tt = type_traits(wt);
      const int64_t k = tt.block_size == 256 ? 512 : 96;
      for (int rows : {1, 3, 4, 5, 17, 64}) {
        const Matrix w = quantize_matrix(wt, make_rows(0, k, rows, rng), k, rows);
        for (int n_tok : {1, 2, 3, 5, 8}) {
          const Acts a = make_acts(tt.vec_dot_type, make_rows(0, k, n_tok, rng), k, n_tok);
          INFO(isa_name(table->isa) << " " << tt.name);
          check_tile(*table, wt, w, a, n_tok, false);
        }
      }
    }
  }
}

TEST_CASE("kernels: GEMM tiles match the reference and keep each row's result", "[kernels]") {
  std::mt19937 rng(14);
  for (const KernelTable* table : available_tables()) {
    for (QType wt : weight_types()) {
      const TypeKernels& tk = (*table)[wt];
      if (!tk.gemm) continue;
      const TypeTraits& tt = type_traits(wt);
      for (int64_t k : {int64_t(256), int64_t(2048 + 256)}) {
        if (k % tt.block_size) continue;
        for (int rows : {1, tk.gemm_rows, 2 * tk.gemm_rows + 3}) {
          const Matrix w = quantize_matrix(wt, make_rows(rows % 2, k, rows, rng), k, rows);
          for (int n_tok : {std::max(tk.gemm_min_tokens, 1), 37, 67}) {
            const Acts a = make_acts(tt.vec_dot_type, make_rows(0, k, n_tok, rng), k, n_tok);
            INFO(isa_name(table->isa) << " " << tt.name << " k " << k);
            check_tile(*table, wt, w, a, n_tok, true);
          }
        }
      }
    }
  }
}
