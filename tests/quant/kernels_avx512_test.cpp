// AVX-512 kernels (quant/kernels_avx512*.cpp) against the scalar references: activation converters
// byte for byte; vec_dot within a bound derived from the kernels' float steps; mul_rows bit-equal to
// vec_dot for every row / token of any tile shape. Both levels are checked when the CPU allows:
// AVX-512BW (VNNI and BF16 masked off) and AVX-512 VNNI/BF16. Skipped with a WARN without AVX-512.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "common/fp16.h"
#include "quant/iq4_common.h"
#include "quant/kernels.h"
#include "quant/registry.h"

namespace {

using kq::KernelTable;
using kq::QType;

// The scalar table with only the avx512 file's entries on top (no avx2 underneath), for cpu.
std::unique_ptr<KernelTable> avx512_only(const kq::CpuFeatures& cpu) {
  auto t = std::make_unique<KernelTable>();
  kq::fill_kernels_scalar(*t);
  kq::fill_kernels_avx512(*t, cpu);
  t->isa = kq::Isa::kAvx512;
  return t;
}

struct Level {
  std::string name;
  std::unique_ptr<KernelTable> table;
};

// The levels this CPU can run: avx512bw always (VNNI/BF16 masked off), avx512-vnni when present.
std::vector<Level> levels() {
  std::vector<Level> out;
  const kq::CpuFeatures& cpu = kq::cpu_features();
  if (!cpu.supports(kq::Isa::kAvx512)) return out;
  kq::CpuFeatures bw = cpu;
  bw.avx512vnni = bw.avx512bf16 = false;
  out.push_back({"avx512bw", avx512_only(bw)});
  if (cpu.avx512vnni) out.push_back({"avx512-vnni", avx512_only(cpu)});
  return out;
}

bool have_avx512() {
  if (kq::cpu_features().supports(kq::Isa::kAvx512)) return true;
  WARN("CPU lacks AVX-512 (" << kq::cpu_features().summary() << "): AVX-512 kernel tests skipped");
  return false;
}

const QType kWeightTypes[] = {QType::F32,  QType::F16,  QType::BF16, QType::Q4_0, QType::Q4_1,
                              QType::Q5_0, QType::Q5_1, QType::Q8_0, QType::Q2_K, QType::Q3_K,
                              QType::Q4_K, QType::Q5_K, QType::Q6_K, QType::IQ4_NL, QType::IQ4_XS};

std::mt19937_64& rng() {
  static std::mt19937_64 g(20240607);
  return g;
}
float normal() { return std::normal_distribution<float>(0.0f, 1.0f)(rng()); }
std::vector<float> normals(int64_t n, float sigma) {
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = sigma * normal();
  return v;
}

uint16_t rd16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
float rd_f16(const uint8_t* p) { return kq::fp16_to_fp32(rd16(p)); }
void wr_f16(uint8_t* p, float v) {
  const uint16_t h = kq::fp32_to_fp16(v);
  p[0] = uint8_t(h & 0xFF);
  p[1] = uint8_t(h >> 8);
}

// ---------------------------------------------------------------------------------------------
// Converters.

std::vector<uint8_t> convert(kq::ConvertRowFn fn, QType t, const std::vector<float>& x) {
  std::vector<uint8_t> out(kq::row_size(t, int64_t(x.size())), 0xA5);
  fn(x.data(), out.data(), int64_t(x.size()));
  return out;
}

TEST_CASE("avx512: activation converters equal the reference byte for byte", "[kernels][avx512]") {
  if (!have_avx512()) return;
  const float kMax = std::numeric_limits<float>::max();
  const float kInf = std::numeric_limits<float>::infinity();
  const float kNaN = std::numeric_limits<float>::quiet_NaN();
  for (const Level& lv : levels()) {
    for (QType t : {QType::Q8_0, QType::Q8_0H, QType::Q8_1, QType::Q8_K, QType::F16, QType::BF16}) {
      const bool k_type = t == QType::Q8_K;
      const bool q8_x86 = t == QType::Q8_0 || t == QType::Q8_0H || t == QType::Q8_1;
      DYNAMIC_SECTION(lv.name << " " << kq::type_name(t)) {
        const auto fn = lv.table->convert[uint32_t(t)];
        REQUIRE(fn != nullptr);
        REQUIRE(std::string(lv.table->convert_name[uint32_t(t)]) == "avx512");
        const int64_t blk = k_type ? 256 : 32;
        std::vector<std::vector<float>> rows;
        for (float sigma : {1.0f, 1e-3f, 3e4f, 1e-30f, 1e30f}) rows.push_back(normals(8 * blk, sigma));
        rows.push_back(std::vector<float>(size_t(4 * blk), 0.0f));
        {
          // Ties: multiples of amax/254 land on .5 after scaling (round half to even).
          std::vector<float> x(size_t(4 * blk));
          for (size_t i = 0; i < x.size(); ++i) x[i] = float(int(i % 255) - 127) * 0.5f;
          rows.push_back(x);
        }
        {
          // Extremes: ±FLT_MAX, a lone outlier, equal |max| of both signs (first one wins in Q8_K),
          // subnormals beside normals, -0.0.
          std::vector<float> x = normals(4 * blk, 1.0f);
          x[3] = kMax;
          x[5] = -kMax;
          x[size_t(blk) + 7] = -1000.0f;
          x[size_t(blk) + 9] = 1000.0f;
          x[size_t(2 * blk)] = -0.0f;
          x[size_t(2 * blk) + 1] = 1e-42f;
          x[size_t(3 * blk) + 1] = -1e-40f;
          rows.push_back(x);
        }
        if (!q8_x86) {
          // Inputs on which the reference is fully defined: inf, NaN (Q8_K: NaN payloads), and a
          // block whose |max| is below 4e-37 (Q8_K's -127/max overflows).
          std::vector<float> x = normals(4 * blk, 1.0f);
          x[1] = kInf;
          x[size_t(blk) + 2] = -kInf;
          x[size_t(blk) + 3] = kNaN;
          x[size_t(blk) + 4] = kq::bits_float(0x7FC01234u);
          x[size_t(blk) + 5] = kq::bits_float(0xFF812345u);  // signalling NaN
          for (int64_t i = 2 * blk; i < 3 * blk; ++i) x[size_t(i)] = float(i % 7 - 3) * 1e-39f;
          rows.push_back(x);
        }
        if (!k_type && !q8_x86) {
          // F16 / BF16 rows of any length (masked tails), values around the f16 limits.
          for (int64_t n : {1, 7, 15, 16, 17, 33, 100}) {
            std::vector<float> x = normals(n, 3e4f);
            x[0] = 65519.0f;  // rounds to inf in f16
            rows.push_back(x);
          }
          std::vector<float> x(4096);
          std::mt19937 bits(5);
          for (auto& v : x) v = kq::bits_float(uint32_t(bits()));  // every class of bit pattern
          rows.push_back(x);
        }
        for (size_t ri = 0; ri < rows.size(); ++ri) {
          INFO("row " << ri << " of " << rows[ri].size());
          std::vector<uint8_t> ref(kq::row_size(t, int64_t(rows[ri].size())), 0x5A);
          kq::convert_row_reference(t, rows[ri].data(), ref.data(), int64_t(rows[ri].size()));
          const auto got = convert(fn, t, rows[ri]);
          size_t first_diff = got.size();
          for (size_t i = 0; i < got.size(); ++i)
            if (got[i] != ref[i]) {
              first_diff = i;
              break;
            }
          INFO("first differing byte " << first_diff);
          REQUIRE(first_diff == got.size());
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Dot products: the bound.

// One weight element as the kernels decompose it: value = coef·(u - o) - off, where the kernel's
// integer lanes hold coef-scaled sums of u·y (u >= 0 for offset types) next to o·Σy corrections,
// and off·Σy sums. |terms| of the element: (|coef|·(|u| + o) + |off|)·|y|.
struct Parts {
  double coef = 0, u = 0, o = 0, off = 0;
};

int nib(const uint8_t* qs, int j) { return j < 16 ? (qs[j] & 0x0F) : (qs[j - 16] >> 4); }
int q5_high(const uint8_t* qh, int j) { return (int(qh[j / 8]) >> (j % 8)) & 1; }
void k4_scale_min(int j, const uint8_t* b, int& sc, int& m) {
  if (j < 4) {
    sc = b[j] & 63;
    m = b[j + 4] & 63;
  } else {
    sc = (b[j + 4] & 0x0F) | ((b[j - 4] >> 6) << 4);
    m = (b[j + 4] >> 4) | ((b[j] >> 6) << 4);
  }
}
int k_nib(const uint8_t* qs, int e) {
  const int c = e / 64, r = e % 64;
  return r < 32 ? (qs[32 * c + r] & 0x0F) : (qs[32 * c + r - 32] >> 4);
}
int k_2bit(const uint8_t* qs, int e) { return (qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3; }

// Element e (< block size) of one weight block.
Parts parts(QType t, const uint8_t* b, int e) {
  Parts p;
  switch (t) {
    case QType::Q4_0: p = {rd_f16(b), double(nib(b + 2, e) - 8), 0, 0}; break;
    case QType::Q4_1: p = {rd_f16(b), double(nib(b + 4, e)), 0, 0}; break;  // + m·s per block
    case QType::Q5_0: p = {rd_f16(b), double((nib(b + 6, e) | (q5_high(b + 2, e) << 4)) - 16), 0, 0}; break;
    case QType::Q5_1: p = {rd_f16(b), double(nib(b + 8, e) | (q5_high(b + 4, e) << 4)), 0, 0}; break;
    case QType::Q8_0: p = {rd_f16(b), double(int8_t(b[2 + e])), 0, 0}; break;
    case QType::IQ4_NL: p = {rd_f16(b), double(kq::kIq4nlValues[nib(b + 2, e)]), 0, 0}; break;
    case QType::IQ4_XS: {
      const int ib = e / 32;
      const int ls = ((b[4 + ib / 2] >> (4 * (ib % 2))) & 0x0F) | (((rd16(b + 2) >> (2 * ib)) & 3) << 4);
      p = {double(rd_f16(b)) * (ls - 32), double(kq::kIq4nlValues[nib(b + 8 + 16 * ib, e % 32)]), 0, 0};
      break;
    }
    case QType::Q2_K: {
      const int s = b[e / 16];
      p = {double(rd_f16(b + 80)) * (s & 0x0F), double(k_2bit(b + 16, e)), 0, double(rd_f16(b + 82)) * (s >> 4)};
      break;
    }
    case QType::Q3_K: {
      const int j = e / 16;
      const int low = j < 8 ? (b[96 + j] & 0x0F) : (b[96 + j - 8] >> 4);
      const int sc = (low | (((b[104 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
      const int u = k_2bit(b + 32, e) + 4 * ((b[e % 32] >> (e / 32)) & 1);
      p = {double(rd_f16(b + 108)) * sc, double(u), 4, 0};
      break;
    }
    case QType::Q4_K:
    case QType::Q5_K: {
      int sc, m;
      k4_scale_min(e / 32, b + 4, sc, m);
      int u = k_nib(b + (t == QType::Q4_K ? 16 : 48), e);
      if (t == QType::Q5_K) u |= ((b[16 + e % 32] >> (e / 32)) & 1) << 4;
      p = {double(rd_f16(b)) * sc, double(u), 0, double(rd_f16(b + 2)) * m};
      break;
    }
    case QType::Q6_K: {
      const int h = e / 128, r = e % 128, k = r / 32, l = r % 32;
      const uint8_t lb = b[64 * h + 32 * (k % 2) + l];
      const int u = (k < 2 ? (lb & 0x0F) : (lb >> 4)) | (((b[128 + 32 * h + l] >> (2 * k)) & 3) << 4);
      p = {double(rd_f16(b + 208)) * int8_t(b[192 + e / 16]), double(u), 32, 0};
      break;
    }
    case QType::F32: {
      float f;
      std::memcpy(&f, b + 4 * e, 4);
      p = {f, 1, 0, 0};
      break;
    }
    case QType::F16: p = {rd_f16(b + 2 * e), 1, 0, 0}; break;
    case QType::BF16: p = {kq::bf16_to_fp32(rd16(b + 2 * e)), 1, 0, 0}; break;
    default: FAIL("no parts for " << kq::type_name(t));
  }
  return p;
}

// Activation element e of one activation block (dequantized: d·q, exactly as a double).
double act_value(QType a, const uint8_t* b, int e) {
  switch (a) {
    case QType::Q8_0: return double(rd_f16(b)) * int8_t(b[2 + e]);
    case QType::Q8_1: return double(rd_f16(b)) * int8_t(b[4 + e]);
    case QType::Q8_0H: return double(rd_f16(b + 2 * (e / 16))) * int8_t(b[4 + e]);
    case QType::Q8_K: {
      float d;
      std::memcpy(&d, b, 4);
      return double(d) * int8_t(b[4 + e]);
    }
    case QType::F32: {
      float f;
      std::memcpy(&f, b + 4 * e, 4);
      return f;
    }
    case QType::F16: return rd_f16(b + 2 * e);
    case QType::BF16: return kq::bf16_to_fp32(rd16(b + 2 * e));
    default: return 0;
  }
}

bool bf16_subnormal(const uint8_t* p) { return (rd16(p) & 0x7F80) == 0 && (rd16(p) & 0x7F) != 0; }

// Allowed |avx512 - reference| for one row pair, from Σ|terms| (the magnitudes the kernel's
// integer lanes and f32 products carry) and the longest chain of f32 roundings a term goes
// through. Quant types: per lane one or two fmas per step (a super-block or four 32-blocks),
// the scale product, int->f32, the 16-lane tree (4); the reference adds 2-3 roundings per
// block. Float types: an f32 fma chain of at most 8 per lane per 128-element step, then double
// sums and one final rounding (the reference: one rounding of a double sum). The chain below,
// 2·(steps of 32 elements or blocks) + 16 (+ 3 per block for quants), covers both with room.
// BF16 via vdpbf16ps flushes subnormal inputs and outputs: those products are allowed in full.
double bound(QType t, const uint8_t* w, const uint8_t* a, int64_t n) {
  const kq::TypeTraits& wt = kq::type_traits(t);
  const QType at = wt.vec_dot_type;
  const kq::TypeTraits& act = kq::type_traits(at);
  const bool is_float = !wt.is_quantized;
  const int64_t bs = wt.block_size;
  double mag = 0, flushed = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t wb = i / bs, ab = i / act.block_size;
    const uint8_t* wp = w + size_t(wb) * wt.type_size;
    const uint8_t* ap = a + size_t(ab) * act.type_size;
    const Parts p = parts(t, wp, int(i % bs));
    const double y = std::fabs(act_value(at, ap, int(i % act.block_size)));
    const double term = (std::fabs(p.coef) * (std::fabs(p.u) + p.o) + std::fabs(p.off)) * y;
    mag += term;
    if (t == QType::BF16 && (bf16_subnormal(wp) || bf16_subnormal(ap))) flushed += term;
  }
  if (t == QType::Q4_1 || t == QType::Q5_1) {
    for (int64_t b = 0; b < n / 32; ++b) {
      const double m = rd_f16(w + size_t(b) * wt.type_size + 2);
      const double s = rd_f16(a + size_t(b) * act.type_size + 2);
      mag += std::fabs(m * s);
    }
  }
  const int64_t nb = is_float ? n : n / bs;
  const int64_t steps = is_float ? (n + 31) / 32 : bs == 32 ? (nb + 1) / 2 : nb;
  const int64_t groups = at == QType::Q8_0H ? 2 * nb : nb;  // integer sums, each scaled on its own
  const double chain = double(2 * steps + (is_float ? 1 : 3 * groups) + 16);
  const double tiny = t == QType::BF16 ? double(2 * steps + 16) * 0x1p-126 : 0.0;
  return chain * 0x1p-24 * mag + flushed + tiny;
}

// ---------------------------------------------------------------------------------------------
// Data.

// Rows of random weights of type t (n elements each): quantized gaussians with outliers, and raw
// random blocks whose f16 scales take edge values (±65504, subnormal, zero, ordinary).
std::vector<uint8_t> weight_rows(QType t, int64_t n, int rows, bool raw) {
  const kq::TypeTraits& tt = kq::type_traits(t);
  const size_t rb = kq::row_size(t, n);
  std::vector<uint8_t> out(rb * size_t(rows));
  for (int r = 0; r < rows; ++r) {
    uint8_t* row = out.data() + rb * size_t(r);
    if (!raw || !tt.is_quantized) {
      std::vector<float> x = normals(n, raw ? 1e3f : 0.05f);
      for (int64_t i = 0; i < n; i += 97) x[size_t(i)] *= 10.0f;
      if (raw && t == QType::F16) x[0] = 65504.0f;
      if (raw && t == QType::BF16) x[0] = 1e30f;
      tt.from_float(x.data(), row, n, nullptr);
      continue;
    }
    for (size_t i = 0; i < rb; ++i) row[i] = uint8_t(rng()());
    // The f16 fields of each block: d (and dmin / m) at type-specific offsets.
    std::vector<int> f16s;
    switch (t) {
      case QType::Q4_0: case QType::Q5_0: case QType::Q8_0: case QType::IQ4_NL: case QType::IQ4_XS: f16s = {0}; break;
      case QType::Q4_1: case QType::Q5_1: case QType::Q4_K: case QType::Q5_K: f16s = {0, 2}; break;
      case QType::Q2_K: f16s = {80, 82}; break;
      case QType::Q3_K: f16s = {108}; break;
      case QType::Q6_K: f16s = {208}; break;
      default: break;
    }
    const float edge[] = {65504.0f, -65504.0f, 0x1p-24f, 0.0f, 1.0f, -0.01f, 3e-5f};
    for (int64_t b = 0; b < n / tt.block_size; ++b)
      for (int off : f16s) {
        const float v = (rng()() % 3 == 0) ? edge[rng()() % 7] : std::ldexp(normal(), -int(rng()() % 8));
        wr_f16(row + size_t(b) * tt.type_size + size_t(off), v);
      }
  }
  return out;
}

// Activation rows converted with the reference: gaussians of a few scales, zeros, and ±max rows.
std::vector<uint8_t> act_rows(QType t, int64_t n, int rows, int kind) {
  const QType a = kq::type_traits(t).vec_dot_type;
  const size_t rb = a == QType::F32 ? size_t(n) * 4 : kq::row_size(a, n);
  std::vector<uint8_t> out(rb * size_t(rows));
  for (int r = 0; r < rows; ++r) {
    std::vector<float> x;
    switch (kind) {
      case 0: x = normals(n, r % 2 ? 3.0f : 0.2f); break;
      case 1: x.assign(size_t(n), 0.0f); break;
      default:
        x.resize(size_t(n));
        for (int64_t i = 0; i < n; ++i) x[size_t(i)] = (i * 7 + r) % 3 ? 100.0f : -100.0f;
        break;
    }
    if (a == QType::F32)
      std::memcpy(out.data() + rb * size_t(r), x.data(), rb);
    else
      kq::convert_row_reference(a, x.data(), out.data() + rb * size_t(r), n);
  }
  return out;
}

// Row lengths per type: one and several steps, partial steps (32-block types run four blocks a
// step: 1, 2, 3 left over; floats 128 elements a step: masked tails).
std::vector<int64_t> lengths(QType t) {
  const int64_t bs = kq::type_traits(t).block_size;
  if (bs == 1) return {1, 31, 77, 256, 300, 4096};
  if (bs == 32) return {32, 64, 96, 288, 4096};
  return {256, 768, 1024};
}
// The mul_rows length: a few steps plus a partial one where the type has them.
int64_t tile_length(QType t) {
  const int64_t bs = kq::type_traits(t).block_size;
  return bs == 1 ? 333 : bs == 32 ? 224 : 1024;
}

TEST_CASE("avx512: vec_dot stays within the derived bound of the reference", "[kernels][avx512]") {
  if (!have_avx512()) return;
  for (const Level& lv : levels()) {
    for (QType t : kWeightTypes) {
      DYNAMIC_SECTION(lv.name << " " << kq::type_name(t)) {
        const kq::TypeKernels& k = (*lv.table)[t];
        REQUIRE(std::string(k.name).rfind("avx512", 0) == 0);
        const kq::VecDotFn ref = kq::type_traits(t).vec_dot;
        for (int64_t n : lengths(t)) {
          for (bool raw : {false, true}) {
            for (int kind : {0, 1, 2}) {
              const int rows = 3;
              const auto w = weight_rows(t, n, rows, raw);
              const auto a = act_rows(t, n, rows, kind);
              const size_t wb = w.size() / rows, ab = a.size() / rows;
              for (int r = 0; r < rows; ++r) {
                const uint8_t* wr = w.data() + wb * size_t(r);
                const uint8_t* ar = a.data() + ab * size_t(r);
                const double want = ref(n, wr, ar);
                const double got = k.vec_dot(n, wr, ar);
                const double tol = bound(t, wr, ar, n);
                INFO("n " << n << " raw " << raw << " kind " << kind << " row " << r << ": got " << got << " want "
                          << want << " tol " << tol);
                REQUIRE(std::isfinite(got));
                REQUIRE(std::fabs(got - want) <= tol);
                if (kind == 1) REQUIRE(got == 0.0);  // all-zero activations: exactly zero
              }
            }
          }
        }
        // An all-zero weight row (quantized zeros) gives exactly zero.
        const int64_t n = lengths(t)[1];
        const std::vector<float> zero(size_t(n), 0.0f);
        std::vector<uint8_t> wz(kq::row_size(t, n));
        kq::type_traits(t).from_float(zero.data(), wz.data(), n, nullptr);
        const auto a = act_rows(t, n, 1, 0);
        REQUIRE(k.vec_dot(n, wz.data(), a.data()) == 0.0f);
      }
    }
  }
}

TEST_CASE("avx512: mul_rows equals vec_dot for every tile shape", "[kernels][avx512]") {
  if (!have_avx512()) return;
  for (const Level& lv : levels()) {
    for (QType t : kWeightTypes) {
      DYNAMIC_SECTION(lv.name << " " << kq::type_name(t)) {
        const kq::TypeKernels& k = (*lv.table)[t];
        REQUIRE(k.mul_rows != nullptr);
        const kq::VecDotFn ref = kq::type_traits(t).vec_dot;
        const int64_t n = tile_length(t);
        for (int n_rows : {1, 3, 4, 5, 17, 64}) {
          for (int n_tok : {1, 2, 3, 5}) {
            // Padded strides: weight rows, activation rows and outputs all spaced wider than needed
            // (by multiples of 4 bytes, which the references' block structs need, but not of 64).
            const auto w0 = weight_rows(t, n, n_rows, n_rows % 2 == 1);
            const auto a0 = act_rows(t, n, n_tok, 0);
            const size_t wb = w0.size() / size_t(n_rows), ab = a0.size() / size_t(n_tok);
            const size_t ws = wb + 36, as = ab + 20, ldy = size_t(n_rows) + 3;
            std::vector<uint8_t> w(ws * size_t(n_rows)), a(as * size_t(n_tok));
            for (int r = 0; r < n_rows; ++r) std::memcpy(&w[ws * size_t(r)], &w0[wb * size_t(r)], wb);
            for (int i = 0; i < n_tok; ++i) std::memcpy(&a[as * size_t(i)], &a0[ab * size_t(i)], ab);
            std::vector<float> y(ldy * size_t(n_tok), -7.0f);
            kq::MatmulTile tile;
            tile.k = n;
            tile.w = w.data();
            tile.w_stride = ws;
            tile.n_rows = n_rows;
            tile.act = a.data();
            tile.act_stride = as;
            tile.n_tok = n_tok;
            tile.y = y.data();
            tile.ldy = ldy;
            k.mul_rows(tile);
            for (int i = 0; i < n_tok; ++i) {
              for (size_t r = 0; r < ldy; ++r) {
                const float got = y[size_t(i) * ldy + r];
                if (r >= size_t(n_rows)) {
                  REQUIRE(got == -7.0f);  // padding untouched
                  continue;
                }
                const uint8_t* wr = &w[ws * r];
                const uint8_t* ar = &a[as * size_t(i)];
                const float single = k.vec_dot(n, wr, ar);
                INFO("rows " << n_rows << " tokens " << n_tok << " row " << r << " token " << i);
                REQUIRE(kq::float_bits(got) == kq::float_bits(single));
                REQUIRE(std::fabs(double(got) - ref(n, wr, ar)) <= bound(t, wr, ar, n));
              }
            }
          }
        }
      }
    }
  }
}

TEST_CASE("avx512: the selected table uses the avx512 kernels", "[kernels][avx512]") {
  if (!have_avx512()) return;
  const kq::CpuFeatures& cpu = kq::cpu_features();
  const KernelTable* t = kq::kernel_table(kq::Isa::kAvx512);
  REQUIRE(t != nullptr);
  const std::string ints = cpu.avx512vnni ? "avx512-vnni" : "avx512bw";
  for (QType q : {QType::Q4_0, QType::Q4_1, QType::Q5_0, QType::Q5_1, QType::Q8_0, QType::Q2_K, QType::Q3_K,
                  QType::Q4_K, QType::Q5_K, QType::Q6_K, QType::IQ4_NL, QType::IQ4_XS})
    CHECK(std::string((*t)[q].name) == ints);
  CHECK(std::string((*t)[QType::F32].name) == "avx512f");
  CHECK(std::string((*t)[QType::F16].name) == "avx512f");
  CHECK(std::string((*t)[QType::BF16].name) == "avx512f");  // vdpbf16ps would round the activations
  for (QType q : {QType::Q8_0, QType::Q8_0H, QType::Q8_1, QType::Q8_K, QType::F16, QType::BF16})
    CHECK(std::string(t->convert_name[uint32_t(q)]) == "avx512");
}

}  // namespace
