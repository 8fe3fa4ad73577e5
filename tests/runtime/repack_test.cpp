// quant/repack: the interleaved Q8_0 layout and its kernels against the scalar reference dot
// product (bit for bit: same block order and roundings) and the selected table's own decode
// kernel (within a derived bound), for every token count and ragged k; matmul routes repacked views.
#include "quant/repack.h"

#include <catch2/catch.hpp>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "common/fp16.h"
#include "quant/kernels.h"
#include "quant/q8_0.h"
#include "quant/q8_0h.h"
#include "runtime/matmul.h"

using namespace kq;

namespace {

// Random Q8_0 rows: quants over the whole int8 range (-128 included, which files may hold) and
// f16 scales across magnitudes; one all-zero block.
std::vector<uint8_t> random_q8_0_rows(int64_t rows, int64_t k, std::mt19937& rng) {
  const int64_t nb = k / 32;
  std::vector<BlockQ8_0> b(size_t(rows * nb));
  std::uniform_int_distribution<int> q(-128, 127);
  std::uniform_real_distribution<float> e(-12.0f, 2.0f);
  for (BlockQ8_0& x : b) {
    x.d = fp32_to_fp16(std::ldexp(1.0f + float(q(rng) & 127) / 128.0f, int(e(rng))) * (q(rng) < 0 ? -1.0f : 1.0f));
    for (int8_t& v : x.qs) v = int8_t(q(rng));
  }
  if (!b.empty()) std::memset(&b[0].qs, 0, 32);
  std::vector<uint8_t> out(b.size() * sizeof(BlockQ8_0));
  std::memcpy(out.data(), b.data(), out.size());
  return out;
}

std::vector<uint8_t> activations(int n_tok, int64_t k, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(size_t(n_tok * k));
  for (float& v : x) v = nd(rng);
  std::vector<uint8_t> a(row_size(QType::Q8_0H, k) * size_t(n_tok));
  for (int t = 0; t < n_tok; ++t)
    convert_row_reference(QType::Q8_0H, x.data() + t * k, a.data() + size_t(t) * row_size(QType::Q8_0H, k), k);
  return a;
}

// Σ over half-blocks of |d_w·d_a|·Σ|x·y|: the magnitude every float rounding of a Q8_0 · Q8_0H dot
// is relative to.
double magnitude(const uint8_t* w, const uint8_t* a, int64_t k) {
  const auto* x = reinterpret_cast<const BlockQ8_0*>(w);
  const auto* y = reinterpret_cast<const BlockQ8_0H*>(a);
  double s = 0.0;
  for (int64_t b = 0; b < k / 32; ++b)
    for (int h = 0; h < 2; ++h) {
      long m = 0;
      for (int j = 16 * h; j < 16 * h + 16; ++j) m += std::labs(long(x[b].qs[j]) * long(y[b].qs[j]));
      s += std::fabs(double(fp16_to_fp32(x[b].d)) * double(fp16_to_fp32(y[b].d[h]))) * double(m);
    }
  return s;
}

}  // namespace

TEST_CASE("repack: Q8_0x16 kernels equal the scalar reference and match each level's decode kernel", "[quant]") {
  std::mt19937 rng(7);
  const int64_t rows = 48;
  int tested = 0;
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kNeon}) {
    const KernelTable* table = kernel_table(isa);
    if (!table || !(*table)[QType::Q8_0].mul_repacked) continue;
    const TypeKernels& kk = (*table)[QType::Q8_0];
    for (int64_t k : {32, 224, 2048}) {
      const size_t rb = row_size(QType::Q8_0, k), ab = row_size(QType::Q8_0H, k);
      const std::vector<uint8_t> w = random_q8_0_rows(rows, k, rng);
      std::vector<uint8_t> packed(rb * rows);
      repack_rows(QType::Q8_0, w.data(), rb, rows, k, packed.data());
      for (int n_tok : {1, 2, 3, 4, 5, 9}) {
        const std::vector<uint8_t> a = activations(n_tok, k, rng);
        std::vector<float> y(size_t(n_tok * rows), NAN);
        MatmulTile t;
        t.k = k;
        t.w = packed.data();
        t.w_stride = rb * kRepackRows;
        t.n_rows = rows;
        t.act = a.data();
        t.act_stride = ab;
        t.n_tok = n_tok;
        t.y = y.data();
        t.ldy = rows;
        kk.mul_repacked(t);
        for (int tok = 0; tok < n_tok; ++tok)
          for (int64_t r = 0; r < rows; ++r) {
            const uint8_t* wr = w.data() + size_t(r) * rb;
            const uint8_t* at = a.data() + size_t(tok) * ab;
            const float got = y[size_t(tok * rows + r)];
            INFO("isa " << isa_name(isa) << " k " << k << " tokens " << n_tok << " row " << r << " token " << tok);
            REQUIRE(got == dot_q8_0_q8_0h(k, wr, at));
            // Both round each of at most k/16 + 16 additions and one product per term, relative
            // to the sum of |terms|: |a - b| <= 2·γ(k/16 + 17)·Σ|d_w·d_a·x·y|.
            const double bound = 2.0 * double(k / 16 + 17) * (FLT_EPSILON / 2) * magnitude(wr, at, k) * 1.0001;
            REQUIRE(std::fabs(double(got) - double(kk.vec_dot(k, wr, at))) <= bound);  // the level's own kernel
          }
      }
    }
    ++tested;
  }
  // The selected table repacks exactly when it has the kernel (KQ_ISA=scalar: never).
  const bool selected = kernels()[QType::Q8_0].mul_repacked != nullptr;
  CHECK(repack_eligible(QType::Q8_0, 64, 2048) == selected);
  CHECK(repacked_bytes(QType::Q8_0, 64, 2048) == (selected ? 64 * row_size(QType::Q8_0, 2048) : 0));
  CHECK_FALSE(repack_eligible(QType::Q8_0, 40, 2048));  // not whole 16-row groups
  CHECK_FALSE(repack_eligible(QType::Q4_0, 64, 2048));
  CHECK(repacked_bytes(QType::Q4_K, 64, 2048) == 0);
  SUCCEED("levels with a repacked Q8_0 kernel tested: " << tested);
}

TEST_CASE("repack: matmul on a repacked view gives the scalar reference for any thread count", "[quant]") {
  if (!kernels()[QType::Q8_0].mul_repacked) return;  // this level never repacks
  std::mt19937 rng(3);
  const int64_t rows = 96, k = 512;
  const size_t rb = row_size(QType::Q8_0, k);
  const std::vector<uint8_t> w = random_q8_0_rows(rows, k, rng);
  std::vector<uint8_t> packed(repacked_bytes(QType::Q8_0, rows, k));
  repack_rows(QType::Q8_0, w.data(), rb, rows, k, packed.data());
  TensorView view;
  view.type = QType::Q8_0;
  view.ne = {k, rows, 1, 1};
  view.row_bytes = rb;
  view.data = w.data();
  view.repacked = packed.data();
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (int n_tok : {1, 7, 40}) {
    std::vector<float> x(size_t(n_tok * k));
    for (float& v : x) v = nd(rng);
    const size_t ab = row_size(QType::Q8_0H, k);
    std::vector<uint8_t> a(ab * size_t(n_tok));
    for (int t = 0; t < n_tok; ++t) convert_row_reference(QType::Q8_0H, x.data() + t * k, a.data() + size_t(t) * ab, k);
    for (int threads : {1, 2, 3}) {
      std::vector<uint8_t> scratch(matmul_scratch_bytes(view, n_tok, threads));
      std::vector<float> y(size_t(n_tok * rows));
      matmul(view, x.data(), n_tok, y.data(), scratch.data(), threads);
      for (int t = 0; t < n_tok; ++t)
        for (int64_t r = 0; r < rows; ++r)
          REQUIRE(y[size_t(t * rows + r)] == dot_q8_0_q8_0h(k, w.data() + size_t(r) * rb, a.data() + size_t(t) * ab));
    }
  }
}
