// Q8_0 weights repacked 16 rows at a time (quant/repack.h) times Q8_0H activations, AVX-512 VNNI.
// Per 32-element block, eight vpdpbusd each multiply one activation quad (embedded broadcast) by
// that quad of all 16 rows, so lane r ends with row r's integer sum and no horizontal reduction is
// needed; the weights of a thread's rows are one sequential stream for the hardware prefetchers.
// Arithmetic per (row, token): sum += float(sumi_h) · (d_w · d_a[h]) half-block by half-block, the
// scalar reference dot_q8_0_q8_0h's order and roundings, so results equal it bit for bit.
// GCC 12's intrinsics pass a self-initialized "undefined" vector as the masked-off source, which
// -Wall reports once inlined (as in quant/simd_avx512.h).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstring>

#include "quant/kernels.h"
#include "quant/repack.h"

namespace kq {
namespace {

constexpr size_t kActBlock = 36;                  // Q8_0H activation block: f16 d[2], 32 int8
constexpr size_t kGroupBlock = 16 * 34;           // one block of a 16-row group: 32 B scales + 512 B quants
constexpr int kToks = 4;                          // tokens per pass over a group's weights

inline uint32_t ld_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint16_t ld_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// -128·Σy over a half-block's 16 activation quants (the weights are stored +128), as an int32.
inline int neg_offset_sum(const uint8_t* q) {
  const __m128i u = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)), _mm_set1_epi8(char(0x80)));
  const __m128i s = _mm_sad_epu8(u, _mm_setzero_si128());  // Σ(y+128) per 8 bytes
  return 128 * 16 * 128 - 128 * (_mm_cvtsi128_si32(s) + _mm_extract_epi32(s, 2));  // -128·(S - 16·128)
}

// One 16-row group × T tokens over nb blocks: y[t·ldy + r] for r < 16.
template <int T>
void group_tokens(const uint8_t* w, int64_t nb, const uint8_t* a, size_t as, float* y, size_t ldy) {
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b, w += kGroupBlock) {
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w)));
    __m512i q[8];
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) q[j] = _mm512_loadu_si512(w + 32 + 64 * j);
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
      const uint8_t* ab = a + size_t(t) * as + size_t(b) * kActBlock;
      // One dpbusd chain per half-block (its own scale), which also halves the dependency latency.
      __m512i s0 = _mm512_set1_epi32(neg_offset_sum(ab + 4)), s1 = _mm512_set1_epi32(neg_offset_sum(ab + 20));
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        s0 = _mm512_dpbusd_epi32(s0, q[j], _mm512_set1_epi32(int(ld_u32(ab + 4 + 4 * j))));
        s1 = _mm512_dpbusd_epi32(s1, q[j + 4], _mm512_set1_epi32(int(ld_u32(ab + 20 + 4 * j))));
      }
      const __m512 d0 = _mm512_mul_ps(dw, _mm512_set1_ps(_cvtsh_ss(ld_u16(ab))));
      const __m512 d1 = _mm512_mul_ps(dw, _mm512_set1_ps(_cvtsh_ss(ld_u16(ab + 2))));
      acc[t] = _mm512_add_ps(acc[t], _mm512_mul_ps(_mm512_cvtepi32_ps(s0), d0));
      acc[t] = _mm512_add_ps(acc[t], _mm512_mul_ps(_mm512_cvtepi32_ps(s1), d1));
    }
  }
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + size_t(t) * ldy, acc[t]);
}

// tile.w: the first 16-row group, tile.w_stride: bytes from one group to the next, tile.n_rows: a
// multiple of 16.
void mul_q8_0x16(const MatmulTile& tile) {
  const int64_t nb = tile.k / 32;
  for (int64_t g = 0; g < tile.n_rows / 16; ++g) {
    const uint8_t* w = tile.w + size_t(g) * tile.w_stride;
    for (int t0 = 0; t0 < tile.n_tok; t0 += kToks) {
      const uint8_t* a = tile.act + size_t(t0) * tile.act_stride;
      float* y = tile.y + size_t(t0) * tile.ldy + size_t(16 * g);
      switch (tile.n_tok - t0 < kToks ? tile.n_tok - t0 : kToks) {
        case 1: group_tokens<1>(w, nb, a, tile.act_stride, y, tile.ldy); break;
        case 2: group_tokens<2>(w, nb, a, tile.act_stride, y, tile.ldy); break;
        case 3: group_tokens<3>(w, nb, a, tile.act_stride, y, tile.ldy); break;
        default: group_tokens<4>(w, nb, a, tile.act_stride, y, tile.ldy); break;
      }
    }
  }
}

}  // namespace

void fill_repacked_avx512vnni(KernelTable& t) {
  TypeKernels& k = t[QType::Q8_0];
  k.mul_repacked = mul_q8_0x16;
  k.repacked_name = "avx512-vnni q8_0x16";
}

}  // namespace kq
