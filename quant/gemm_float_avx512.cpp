// AVX-512 prefill GEMM for float weights (F32, F16, BF16) against f32 activations.
//
// Register tiles of 4 weight rows × 6 tokens, one 16-lane accumulator each (24 zmm): per 16
// elements, four weight loads widened exactly (F16 with vcvtph2ps, BF16 with a 16-bit shift), six
// activation loads and 24 FMAs. Each accumulator is the float kernels' shared arithmetic (see
// KFloat in quant/simd_avx512.h: lane j an f32 FMA chain over elements j, j+16, ..., then hsum's
// fixed tree), so a result is bit-identical to vec_dot and mul_rows: prefill and decode agree, and
// how a batch is cut does not change the logits. Tokens go in blocks of 48 whose activations stay
// in L2 while every row group of the tile passes over them; no packing, no scratch.
//
// Measured against oneDNN 2.6's f32 matmul (brgemm avx512_core) and a transposed-panel kernel of
// our own, see the commit message; this form keeps bit-identity with decode at comparable speed.
#include "quant/gemm_isa.h"
#include "quant/kernels.h"
#include "quant/simd_avx512.h"

namespace kq {
namespace {

using avx512::hsum;

constexpr int kR = 4;          // weight rows per register tile
constexpr int kT = 6;          // tokens per register tile
constexpr int kTokBlock = 48;  // tokens whose activations stay in L2 across the tile's row groups
constexpr int kTileRows = 64;  // rows the caller hands over per tile (gemm_rows)
constexpr int kMinTokens = 8;  // below this mul_rows (the same arithmetic) is as fast

// Weight kinds: 0 f32, 1 f16, 2 bf16.
template <int kKind>
constexpr size_t kElemBytes = kKind == 0 ? 4 : 2;

// 16 weights from p (lanes outside m are zero), widened exactly to f32.
template <int kKind, bool kFull>
inline __attribute__((always_inline)) __m512 widen16(const uint8_t* p, __mmask16 m) {
  if constexpr (kKind == 0) {
    return kFull ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(m, p);
  } else {
    const __m256i h = kFull ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)) : _mm256_maskz_loadu_epi16(m, p);
    if constexpr (kKind == 1) return _mm512_cvtph_ps(h);
    return avx512::bf16_to_f32(h);
  }
}

template <int kKind, int R, int T, bool kFull>
inline __attribute__((always_inline)) void step(__m512 (&acc)[R][T], const uint8_t* w, size_t ws, const float* a,
                                                size_t as, int64_t i, __mmask16 m) {
  __m512 wv[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) wv[r] = widen16<kKind, kFull>(w + size_t(r) * ws + size_t(i) * kElemBytes<kKind>, m);
#pragma GCC unroll 6
  for (int t = 0; t < T; ++t) {
    const float* ap = a + size_t(t) * as + i;
    const __m512 av = kFull ? _mm512_loadu_ps(ap) : _mm512_maskz_loadu_ps(m, ap);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[r][t] = _mm512_fmadd_ps(wv[r], av, acc[r][t]);
  }
}

// R rows (w, ws bytes apart) × T tokens (a, as floats apart) over k elements into y[t·ldy + r].
template <int kKind, int R, int T>
__attribute__((noinline)) void micro(const uint8_t* w, size_t ws, const float* a, size_t as, int64_t k, float* y,
                                     size_t ldy) {
  __m512 acc[R][T];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 6
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= k; i += 16) step<kKind, R, T, true>(acc, w, ws, a, as, i, 0xFFFF);
  if (i < k) step<kKind, R, T, false>(acc, w, ws, a, as, i, __mmask16((1u << (k - i)) - 1));
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 6
    for (int t = 0; t < T; ++t) y[size_t(t) * ldy + size_t(r)] = hsum(acc[r][t]);
}

template <int kKind, int R>
void rows_by_tokens(int nt, const uint8_t* w, size_t ws, const float* a, size_t as, int64_t k, float* y, size_t ldy) {
  switch (nt) {
    case 1: micro<kKind, R, 1>(w, ws, a, as, k, y, ldy); break;
    case 2: micro<kKind, R, 2>(w, ws, a, as, k, y, ldy); break;
    case 3: micro<kKind, R, 3>(w, ws, a, as, k, y, ldy); break;
    case 4: micro<kKind, R, 4>(w, ws, a, as, k, y, ldy); break;
    case 5: micro<kKind, R, 5>(w, ws, a, as, k, y, ldy); break;
    default: micro<kKind, R, 6>(w, ws, a, as, k, y, ldy); break;
  }
}

template <int kKind>
void gemm(const MatmulTile& t) {
  const size_t as = t.act_stride / sizeof(float);
  for (int tb = 0; tb < t.n_tok; tb += kTokBlock) {
    const int tend = std::min(t.n_tok, tb + kTokBlock);
    for (int64_t r0 = 0; r0 < t.n_rows; r0 += kR) {
      const int nr = int(std::min<int64_t>(kR, t.n_rows - r0));
      const uint8_t* w = t.w + size_t(r0) * t.w_stride;
      for (int t0 = tb; t0 < tend; t0 += kT) {
        const int nt = std::min(kT, tend - t0);
        const float* a = reinterpret_cast<const float*>(t.act + size_t(t0) * t.act_stride);
        float* y = t.y + size_t(t0) * t.ldy + size_t(r0);
        switch (nr) {
          case 1: rows_by_tokens<kKind, 1>(nt, w, t.w_stride, a, as, t.k, y, t.ldy); break;
          case 2: rows_by_tokens<kKind, 2>(nt, w, t.w_stride, a, as, t.k, y, t.ldy); break;
          case 3: rows_by_tokens<kKind, 3>(nt, w, t.w_stride, a, as, t.k, y, t.ldy); break;
          default: rows_by_tokens<kKind, 4>(nt, w, t.w_stride, a, as, t.k, y, t.ldy); break;
        }
      }
    }
  }
}

template <int kKind>
void install_gemm(KernelTable& table, QType type) {
  TypeKernels& k = table[type];
  k.gemm = gemm<kKind>;
  k.gemm_scratch = nullptr;
  k.gemm_rows = kTileRows;
  k.gemm_min_tokens = kMinTokens;
  k.gemm_name = "avx512 f32 tiles";
}

}  // namespace

void fill_gemm_float_avx512(KernelTable& t) {
  install_gemm<0>(t, QType::F32);
  install_gemm<1>(t, QType::F16);
  install_gemm<2>(t, QType::BF16);
}

}  // namespace kq
