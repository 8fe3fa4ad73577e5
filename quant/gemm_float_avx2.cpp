// AVX2 (+FMA, F16C) prefill GEMM for float weights (F32, F16, BF16) against f32 activations.
//
// The shape of gemm_float_avx512.cpp at half the width: each panel of up to 16 weight rows is
// widened to f32 exactly and transposed once per k block into scratch as [k][16]; the micro-kernel
// runs 6 tokens × 16 rows in 12 ymm accumulators (two panel loads, six broadcasts, twelve FMAs per
// k). Every output is the sequential f32 FMA chain y = fma(w_k, a_k, y) over k = 0..K-1, the same
// chain the AVX-512 kernel computes, so both give identical bits.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "common/fp16.h"
#include "quant/gemm_isa.h"
#include "quant/kernels.h"

namespace kq {
namespace {

constexpr int kNr = 16;        // weight rows per panel: two 8-lane vectors
constexpr int kMr = 6;         // tokens per micro-tile: 6 × 2 accumulators (+ 3 registers in use)
constexpr int64_t kKc = 512;   // k per panel block: a 32 KiB panel
constexpr int kTileRows = 64;  // rows the caller hands over per tile (gemm_rows)
constexpr int kMinTokens = 8;  // below this the decode kernels (double sums) are as fast

// Weight kinds: 0 f32, 1 f16, 2 bf16.
template <int kKind>
constexpr size_t kElemBytes = kKind == 0 ? 4 : 2;

// Eight weights from p, widened exactly to f32.
template <int kKind>
inline __m256 widen8(const uint8_t* p) {
  if constexpr (kKind == 0) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(p));
  } else {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    if constexpr (kKind == 1) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
}
template <int kKind>
inline float widen1(const uint8_t* p) {
  if constexpr (kKind == 0) {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  } else {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return kKind == 1 ? fp16_to_fp32(h) : bf16_to_fp32(h);
  }
}

// panel[kk·16 + r] = weight (r, k0 + kk) in f32 for kk < kc; rows nr..15 are zero. row: kc floats.
template <int kKind>
void pack_panel(const uint8_t* w, size_t ws, int nr, int64_t k0, int64_t kc, float* panel, float* row) {
  for (int r = 0; r < kNr; ++r) {
    if (r >= nr) {
      for (int64_t kk = 0; kk < kc; ++kk) panel[kk * kNr + r] = 0.0f;
      continue;
    }
    const uint8_t* src = w + size_t(r) * ws + size_t(k0) * kElemBytes<kKind>;
    int64_t kk = 0;
    for (; kk + 8 <= kc; kk += 8) _mm256_storeu_ps(row + kk, widen8<kKind>(src + size_t(kk) * kElemBytes<kKind>));
    for (; kk < kc; ++kk) row[kk] = widen1<kKind>(src + size_t(kk) * kElemBytes<kKind>);
    for (kk = 0; kk < kc; ++kk) panel[kk * kNr + r] = row[kk];
  }
}

// Lane masks for maskload / maskstore: the first n of 8 lanes.
inline __m256i first_lanes(int n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(std::clamp(n, 0, 8)), idx);
}

// T tokens × 16 rows over one k block (see gemm_float_avx512.cpp's micro).
template <int T>
__attribute__((noinline)) void micro(const float* panel, int64_t kc, const float* a, size_t as, float* y, size_t ldy,
                                     __m256i m0, __m256i m1, bool resume) {
  __m256 c0[T], c1[T];
  const float* ap[T];
#pragma GCC unroll 6
  for (int t = 0; t < T; ++t) {
    ap[t] = a + size_t(t) * as;
    c0[t] = resume ? _mm256_maskload_ps(y + size_t(t) * ldy, m0) : _mm256_setzero_ps();
    c1[t] = resume ? _mm256_maskload_ps(y + size_t(t) * ldy + 8, m1) : _mm256_setzero_ps();
  }
#pragma GCC unroll 2
  for (int64_t kk = 0; kk < kc; ++kk) {
    const __m256 w0 = _mm256_loadu_ps(panel + kk * kNr), w1 = _mm256_loadu_ps(panel + kk * kNr + 8);
#pragma GCC unroll 6
    for (int t = 0; t < T; ++t) {
      const __m256 b = _mm256_broadcast_ss(ap[t] + kk);
      c0[t] = _mm256_fmadd_ps(w0, b, c0[t]);
      c1[t] = _mm256_fmadd_ps(w1, b, c1[t]);
    }
  }
#pragma GCC unroll 6
  for (int t = 0; t < T; ++t) {
    _mm256_maskstore_ps(y + size_t(t) * ldy, m0, c0[t]);
    _mm256_maskstore_ps(y + size_t(t) * ldy + 8, m1, c1[t]);
  }
}

size_t scratch(int64_t k) { return size_t(kNr + 1) * size_t(std::min(k, kKc)) * sizeof(float); }

template <int kKind>
void gemm(const MatmulTile& t) {
  float* panel = reinterpret_cast<float*>(t.scratch);
  float* row = panel + size_t(kNr) * size_t(std::min(t.k, kKc));
  const size_t as = t.act_stride / sizeof(float);
  if (t.k == 0) {
    for (int tok = 0; tok < t.n_tok; ++tok) std::fill_n(t.y + size_t(tok) * t.ldy, t.n_rows, 0.0f);
    return;
  }
  for (int64_t r0 = 0; r0 < t.n_rows; r0 += kNr) {
    const int nr = int(std::min<int64_t>(kNr, t.n_rows - r0));
    const __m256i m0 = first_lanes(nr), m1 = first_lanes(nr - 8);
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
  k.gemm_name = "avx2 f32 panel";
}

}  // namespace

void fill_gemm_float_avx2(KernelTable& t) {
  install<0>(t, QType::F32);
  install<1>(t, QType::F16);
  install<2>(t, QType::BF16);
}

}  // namespace kq
