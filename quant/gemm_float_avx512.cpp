// AVX-512 prefill GEMM for float weights (F32, F16, BF16) against f32 activations.
//
// Each panel of up to 32 weight rows is widened to f32 (F16 with vcvtph2ps, BF16 with a 16-bit
// shift: both exact) and transposed once per k block into scratch as [k][32]; a micro-kernel then
// runs 6 tokens × 32 rows in 12 zmm accumulators: per k, two panel loads, six activation
// broadcasts and twelve FMAs. Every output is the sequential f32 FMA chain y = fma(w_k, a_k, y)
// over k = 0..K-1 (a k block resumes from the partial sum it stored in y), so the result does not
// depend on the tile shape, the thread count or the ISA (gemm_float_avx2.cpp computes the same
// chain), and the only rounding is the f32 accumulation: the activations are never narrowed.
// GCC 12's _mm512_cvtph_ps / _mm512_maskz_* pass a self-initialized "undefined" vector (see quant/simd_avx512.h).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "quant/gemm_isa.h"
#include "quant/kernels.h"

namespace kq {
namespace {

constexpr int kNr = 32;        // weight rows per panel: two 16-lane vectors
constexpr int kMr = 6;         // tokens per micro-tile: 6 × 2 accumulators
constexpr int64_t kKc = 512;   // k per panel block: a 64 KiB panel, reread from L2 per 6 tokens
constexpr int kTileRows = 64;  // rows the caller hands over per tile (gemm_rows)
constexpr int kMinTokens = 8;  // below this the decode kernels (double sums) are as fast

// Weight kinds: 0 f32, 1 f16, 2 bf16.
template <int kKind>
constexpr size_t kElemBytes = kKind == 0 ? 4 : 2;

inline __mmask16 first_lanes(int64_t n) { return n >= 16 ? __mmask16(0xFFFF) : n <= 0 ? 0 : __mmask16((1u << n) - 1); }

// n <= 16 weights from p, widened exactly to f32 (lanes past n are zero).
template <int kKind>
inline __m512 widen16(const uint8_t* p, int64_t n) {
  const __mmask16 m = first_lanes(n);
  if constexpr (kKind == 0) {
    return _mm512_maskz_loadu_ps(m, p);
  } else {
    const __m256i h = _mm256_maskz_loadu_epi16(m, p);
    if constexpr (kKind == 1) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
}

// panel[kk·32 + r] = weight (r, k0 + kk) in f32 for kk < kc; rows nr..31 are zero. row: kc floats.
template <int kKind>
void pack_panel(const uint8_t* w, size_t ws, int nr, int64_t k0, int64_t kc, float* panel, float* row) {
  for (int r = 0; r < kNr; ++r) {
    if (r >= nr) {
      for (int64_t kk = 0; kk < kc; ++kk) panel[kk * kNr + r] = 0.0f;
      continue;
    }
    const uint8_t* src = w + size_t(r) * ws + size_t(k0) * kElemBytes<kKind>;
    for (int64_t kk = 0; kk < kc; kk += 16)
      _mm512_storeu_ps(row + kk, widen16<kKind>(src + size_t(kk) * kElemBytes<kKind>, kc - kk));
    for (int64_t kk = 0; kk < kc; ++kk) panel[kk * kNr + r] = row[kk];
  }
}

// T tokens × 32 rows over one k block. a: the first token's activations at k0, as floats between
// tokens; y: (token 0, row 0) of the outputs; m0 / m1: the rows present in each half; resume: add
// onto the partial sums already in y.
template <int T>
__attribute__((noinline)) void micro(const float* panel, int64_t kc, const float* a, size_t as, float* y, size_t ldy,
                                     __mmask16 m0, __mmask16 m1, bool resume) {
  __m512 c0[T], c1[T];
  const float* ap[T];
#pragma GCC unroll 6
  for (int t = 0; t < T; ++t) {
    ap[t] = a + size_t(t) * as;
    c0[t] = resume ? _mm512_maskz_loadu_ps(m0, y + size_t(t) * ldy) : _mm512_setzero_ps();
    c1[t] = resume ? _mm512_maskz_loadu_ps(m1, y + size_t(t) * ldy + 16) : _mm512_setzero_ps();
  }
#pragma GCC unroll 2
  for (int64_t kk = 0; kk < kc; ++kk) {
    const __m512 w0 = _mm512_loadu_ps(panel + kk * kNr), w1 = _mm512_loadu_ps(panel + kk * kNr + 16);
#pragma GCC unroll 6
    for (int t = 0; t < T; ++t) {
      const __m512 b = _mm512_set1_ps(ap[t][kk]);
      c0[t] = _mm512_fmadd_ps(w0, b, c0[t]);
      c1[t] = _mm512_fmadd_ps(w1, b, c1[t]);
    }
  }
#pragma GCC unroll 6
  for (int t = 0; t < T; ++t) {
    _mm512_mask_storeu_ps(y + size_t(t) * ldy, m0, c0[t]);
    _mm512_mask_storeu_ps(y + size_t(t) * ldy + 16, m1, c1[t]);
  }
}

size_t scratch(int64_t k) { return size_t(kNr + 1) * size_t(std::min(k, kKc) + 16) * sizeof(float); }

template <int kKind>
void gemm(const MatmulTile& t) {
  float* panel = reinterpret_cast<float*>(t.scratch);
  float* row = panel + size_t(kNr) * size_t(std::min(t.k, kKc) + 16);
  const size_t as = t.act_stride / sizeof(float);
  if (t.k == 0) {
    for (int tok = 0; tok < t.n_tok; ++tok) std::fill_n(t.y + size_t(tok) * t.ldy, t.n_rows, 0.0f);
    return;
  }
  for (int64_t r0 = 0; r0 < t.n_rows; r0 += kNr) {
    const int nr = int(std::min<int64_t>(kNr, t.n_rows - r0));
    const __mmask16 m0 = first_lanes(nr), m1 = first_lanes(nr - 16);
    for (int64_t k0 = 0; k0 < t.k; k0 += kKc) {
      const int64_t kc = std::min(kKc, t.k - k0);
      pack_panel<kKind>(t.w + size_t(r0) * t.w_stride, t.w_stride, nr, k0, kc, panel, row);
      for (int t0 = 0; t0 < t.n_tok; t0 += kMr) {
        const float* a = reinterpret_cast<const float*>(t.act + size_t(t0) * t.act_stride) + k0;
        float* y = t.y + size_t(t0) * t.ldy + size_t(r0);
        const bool resume = k0 > 0;
        switch (std::min(kMr, t.n_tok - t0)) {
          case 1: micro<1>(panel, kc, a, as, y, t.ldy, m0, m1, resume); break;
          case 2: micro<2>(panel, kc, a, as, y, t.ldy, m0, m1, resume); break;
          case 3: micro<3>(panel, kc, a, as, y, t.ldy, m0, m1, resume); break;
          case 4: micro<4>(panel, kc, a, as, y, t.ldy, m0, m1, resume); break;
          case 5: micro<5>(panel, kc, a, as, y, t.ldy, m0, m1, resume); break;
          default: micro<6>(panel, kc, a, as, y, t.ldy, m0, m1, resume); break;
        }
      }
    }
  }
}

template <int kKind>
void install(KernelTable& table, QType type) {
  TypeKernels& k = table[type];
  k.gemm = gemm<kKind>;
  k.gemm_scratch = scratch;
  k.gemm_rows = kTileRows;
  k.gemm_min_tokens = kMinTokens;
  k.gemm_name = "avx512 f32 panel";
}

}  // namespace

void fill_gemm_float_avx512(KernelTable& t) {
  install<0>(t, QType::F32);
  install<1>(t, QType::F16);
  install<2>(t, QType::BF16);
}

}  // namespace kq
