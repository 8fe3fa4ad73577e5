// AVX2 helpers shared by the quant/*_avx2.cpp kernel files: reductions, f16 scales, and the generic
// multi-row × multi-token driver every block type's decode kernel runs through.
// Include only from files compiled with the AVX2 flags (name ends in _avx2.cpp).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "quant/kernels.h"

#define KQ_AVX2_INLINE inline __attribute__((always_inline))

namespace kq::avx2 {

// Family fillers, called by fill_kernels_avx2 (quant/kernels_avx2.cpp).
void fill_legacy(KernelTable& t);  // Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL (quant/kernels_legacy_avx2.cpp)
void fill_kquant(KernelTable& t);  // Q2_K Q3_K Q4_K Q5_K Q6_K IQ4_XS (quant/kernels_kquant_avx2.cpp)
void fill_float(KernelTable& t);   // F32 F16 BF16 (quant/kernels_float_avx2.cpp)
void fill_scale_search(KernelTable& t);  // the quantizers' batched searches (quant/scale_search_avx2.cpp)
// The AVX2 batched searches themselves (the AVX-512 ones hand them their tails).
void scale_search_asymmetric(const AsymmetricSearch& p, int groups, const float* x, const float* weights,
                             uint8_t* levels, float* scales, float* the_mins);
void scale_search_symmetric(int groups, int n, int nmax, const float* x, int8_t* levels, int rmse_type,
                            const float* w, float* scales);

KQ_AVX2_INLINE float hsum(__m256 v) {
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

// IEEE binary16 -> float (F16C; exact for every finite, subnormal and infinite value).
KQ_AVX2_INLINE float f16(uint16_t h) { return _cvtsh_ss(h); }

KQ_AVX2_INLINE uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

KQ_AVX2_INLINE __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
KQ_AVX2_INLINE __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

// Sum of adjacent int16 pairs -> int32 (the second step of every u8·s8 dot).
KQ_AVX2_INLINE __m256i sum_pairs(__m256i p) { return _mm256_madd_epi16(p, _mm256_set1_epi16(1)); }

// Sixteen 4-bit values of 16 bytes -> 32 bytes: low nibbles first, then high nibbles (the legacy
// element order: element j = lo(qs[j]), element j+16 = hi(qs[j])).
KQ_AVX2_INLINE __m256i nibbles_lo_hi(__m128i x) {
  const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(x), _mm_srli_epi16(x, 4), 1);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// The decode driver. A kernel K describes one block type against its activation type:
//   WBlock, ABlock       the block structs; kBlock elements per block
//   Row  load_row(const WBlock&)   per weight row and block: unpacked levels / scales (reused by tokens)
//   Act  load_act(const ABlock&)   per token and block: activation values shared by the rows
//   void dot(const Row&, const Act&, Acc&)   adds one block's product to a (row, token) accumulator
//   Acc zero(); float finish(const Acc&)
//   kTail, tail(w, a, Acc&)   when kTail > 0: a row may end in (k % kBlock) / kTail smaller units
//                             (e.g. one 32-element block after pairs of blocks), done by tail()
// Every (row, token) pair runs the same sequence of operations whatever R and T are, so a row's
// result does not depend on its place in a tile, the tile's size or the thread count.
// How far ahead of the current block the decode driver prefetches each weight row.
constexpr size_t kPrefetchBytes = 32768;

template <class K, int R, int T>
KQ_AVX2_INLINE void run_group(int64_t k, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride,
                              float* y, size_t ldy) {
  using WB = typename K::WBlock;
  using AB = typename K::ABlock;
  const int64_t nb = k / K::kBlock;
  typename K::Acc acc[R][T];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) acc[r][t] = K::zero();
  for (int64_t ib = 0; ib < nb; ++ib) {
    typename K::Row row[R];
    // Software prefetch kPrefetchBytes ahead on every row stream: with only a few rows in flight
    // the hardware prefetcher leaves the loop waiting on DRAM latency (perf: ~35% of decode time
    // stalled on the first load of a row's block). Past a row's end it fetches the next rows.
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const char* ahead = reinterpret_cast<const char*>(w + size_t(r) * w_stride + size_t(ib) * sizeof(WB)) + kPrefetchBytes;
#pragma GCC unroll 8
      for (size_t line = 0; line < sizeof(WB); line += 64) _mm_prefetch(ahead + line, _MM_HINT_T1);
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) row[r] = K::load_row(reinterpret_cast<const WB*>(w + size_t(r) * w_stride)[ib]);
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      const typename K::Act act = K::load_act(reinterpret_cast<const AB*>(a + size_t(t) * a_stride)[ib]);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) K::dot(row[r], act, acc[r][t]);
    }
  }
  if constexpr (K::kTail > 0) {
    for (int64_t u = 0; u < (k - nb * K::kBlock) / K::kTail; ++u) {
      const size_t wo = size_t(nb) * sizeof(WB) + size_t(u) * K::kTailWBytes;
      const size_t ao = size_t(nb) * sizeof(AB) + size_t(u) * K::kTailABytes;
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) K::tail(w + size_t(r) * w_stride + wo, a + size_t(t) * a_stride + ao, acc[r][t]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) y[size_t(t) * ldy + size_t(r)] = K::finish(acc[r][t]);
}

// A group kernel for the slab driver below: G::run<R, T>(k, w, w_stride, a, a_stride, y, ldy)
// multiplies R rows by T tokens; G::kRows1 / G::kRowsN are the rows per group for one token and
// for several. BlockGroup adapts a block kernel K of run_group; the float kernels bring their own.
template <class K>
struct BlockGroup {
  static constexpr int kRows1 = K::kRows1, kRowsN = K::kRowsN;
  template <int R, int T>
  static KQ_AVX2_INLINE void run(int64_t k, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride,
                                 float* y, size_t ldy) {
    run_group<K, R, T>(k, w, w_stride, a, a_stride, y, ldy);
  }
};

// All rows of a tile for tokens [tok, tok + T): groups of R rows, then single rows.
template <class G, int R, int T>
void run_rows(const MatmulTile& t, int64_t r0, int64_t r1, int tok) {
  const uint8_t* a = t.act + size_t(tok) * t.act_stride;
  float* y = t.y + size_t(tok) * t.ldy;
  int64_t r = r0;
  for (; r + R <= r1; r += R)
    G::template run<R, T>(t.k, t.w + size_t(r) * t.w_stride, t.w_stride, a, t.act_stride, y + r, t.ldy);
  for (; r < r1; ++r) G::template run<1, T>(t.k, t.w + size_t(r) * t.w_stride, t.w_stride, a, t.act_stride, y + r, t.ldy);
}

// mul_rows: rows in slabs small enough to stay in L1/L2 while every token chunk (up to 4 tokens
// at once) passes over them, so the weights stream from memory once.
template <class G>
void mul_rows_by_groups(const MatmulTile& t) {
  constexpr int64_t kSlab = 16;
  for (int64_t r0 = 0; r0 < t.n_rows; r0 += kSlab) {
    const int64_t r1 = r0 + kSlab < t.n_rows ? r0 + kSlab : t.n_rows;
    int tok = 0;
    while (tok < t.n_tok) {
      switch (t.n_tok - tok) {
        case 1: run_rows<G, G::kRows1, 1>(t, r0, r1, tok); tok += 1; break;
        case 2: run_rows<G, G::kRowsN, 2>(t, r0, r1, tok); tok += 2; break;
        case 3: run_rows<G, G::kRowsN, 3>(t, r0, r1, tok); tok += 3; break;
        default: run_rows<G, G::kRowsN, 4>(t, r0, r1, tok); tok += 4; break;
      }
    }
  }
}

template <class K>
float vec_dot(int64_t n, const void* x, const void* y) {
  float out;
  run_group<K, 1, 1>(n, static_cast<const uint8_t*>(x), 0, static_cast<const uint8_t*>(y), 0, &out, 0);
  return out;
}

template <class K>
void install(KernelTable& table, QType type) {
  TypeKernels& k = table[type];
  k.vec_dot = vec_dot<K>;
  k.mul_rows = mul_rows_by_groups<BlockGroup<K>>;
  k.name = "avx2";
}

}  // namespace kq::avx2
