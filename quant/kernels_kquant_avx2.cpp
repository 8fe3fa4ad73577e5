// AVX2 decode kernels for the 256-element super-block types against Q8_K: Q2_K, Q3_K, Q4_K, Q5_K,
// Q6_K and IQ4_XS.
//
// Levels are unsigned (0..3, 0..7, 0..15, 0..31, 0..63) and go through maddubs directly; the
// per-sub-block scale multiplies in madd; offsets (-4 for Q3_K, -32 for Q6_K) and mins come from
// the activation's bsums. Every integer sum is exact for any weight block and any activation
// whose bsums are its sums (what the Q8_K converter writes); only the final float order differs
// from the scalar reference.
#include "quant/iq4_common.h"
#include "quant/iq4_xs.h"
#include "quant/q2_k.h"
#include "quant/q3_k.h"
#include "quant/q4_k.h"
#include "quant/q5_k.h"
#include "quant/q6_k.h"
#include "quant/q8_k.h"
#include "quant/simd_avx2.h"

namespace kq::avx2 {
namespace {

// Moves bit kFrom of every byte to bit kTo and clears the other bits. 16-bit shifts are safe: the
// bits that cross a byte boundary never land on bit kTo.
template <int kFrom, int kTo>
KQ_AVX2_INLINE __m256i move_bit(__m256i v) {
  const __m256i mask = _mm256_set1_epi8(char(1 << kTo));
  if constexpr (kTo >= kFrom) return _mm256_and_si256(_mm256_slli_epi16(v, kTo - kFrom), mask);
  else return _mm256_and_si256(_mm256_srli_epi16(v, kFrom - kTo), mask);
}

// Broadcasts int16 lane j (0..7) of a [s0..s7 | s0..s7] vector to all 16 lanes.
template <int j>
KQ_AVX2_INLINE __m256i bcast16(__m256i s) {
  return _mm256_shuffle_epi8(s, _mm256_set1_epi16(short((2 * j) | ((2 * j + 1) << 8))));
}

// Scale vector of 32-element chunk i (sub-blocks 2i and 2i+1 of 16) from sixteen int16 scales held
// as lo = [s0..s7 | s0..s7] and hi = [s8..s15 | s8..s15]: [s_2i ×8 | s_2i+1 ×8].
template <int i>
KQ_AVX2_INLINE __m256i chunk_scales(__m256i lo, __m256i hi) {
  constexpr int k = i % 4;
  const short c0 = short((4 * k) | ((4 * k + 1) << 8)), c1 = short((4 * k + 2) | ((4 * k + 3) << 8));
  const __m256i ctl = _mm256_setr_epi16(c0, c0, c0, c0, c0, c0, c0, c0, c1, c1, c1, c1, c1, c1, c1, c1);
  return _mm256_shuffle_epi8(i < 4 ? lo : hi, ctl);
}

// Activation block of every k-quant kernel; the 256 values are read inside dot.
struct ActQ8K {
  const int8_t* qs;
  __m256i bsums;
  __m128i bpairs;  // bsums[2j] + bsums[2j+1], j = 0..7, as int16 (|sum| <= 4096)
  __m128 d;        // d in every lane
};
KQ_AVX2_INLINE ActQ8K load_act_q8k(const BlockQ8K& b) {
  const __m256i bs = load256(b.bsums);
  const __m256i pairs = sum_pairs(bs);
  const __m128i p16 = _mm_packs_epi32(_mm256_castsi256_si128(pairs), _mm256_extracti128_si256(pairs, 1));
  return {b.qs, bs, p16, _mm_set1_ps(b.d)};
}

// Sixteen int16 scales split for chunk_scales.
struct Scales16 {
  __m256i all, lo, hi;
};
KQ_AVX2_INLINE Scales16 split_scales(__m256i s16) {
  return {s16, _mm256_permute4x64_epi64(s16, 0x44), _mm256_permute4x64_epi64(s16, 0xEE)};
}

// ---- Q4_K / Q5_K: eight 32-element sub-blocks with 6-bit scales and mins ----

struct ScaleMinRow {
  __m256i sc;    // bytes [sc0..sc7 m0..m7] in both 128-bit lanes (bcast16 reads sc_j as int16)
  __m128i mins;  // m0..m7 as int16
  __m128 d;      // [d, dmin, -, -]
};

// Broadcasts byte j of each 128-bit lane, zero-extended, to all 16 int16 lanes.
template <int j>
KQ_AVX2_INLINE __m256i bcast8to16(__m256i s) {
  return _mm256_shuffle_epi8(s, _mm256_set1_epi16(short(j | 0x8000)));
}

// The 12-byte scales field (read as 16 bytes: the 4 after it belong to the same block).
KQ_AVX2_INLINE ScaleMinRow unpack_scale_min(const uint8_t* b, const uint16_t* d_dmin) {
  const __m128i raw = load128(b);
  // 32-bit lanes a0 a1 a2: sc0..3 = a0 & 63, m0..3 = a1 & 63; sub-blocks 4..7 take their low
  // nibbles from a2 and their top two bits from bits 6-7 of a0 (scales) and a1 (mins).
  const __m128i x = _mm_shuffle_epi32(raw, _MM_SHUFFLE(2, 1, 2, 0));  // a0 a2 a1 a2
  const __m128i lo = _mm_and_si128(_mm_srlv_epi32(x, _mm_setr_epi32(0, 0, 0, 4)),
                                   _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
  const __m128i y = _mm_shuffle_epi32(raw, _MM_SHUFFLE(1, 1, 0, 0));  // a0 a0 a1 a1
  const __m128i hi = _mm_and_si128(_mm_srli_epi32(y, 2), _mm_setr_epi32(0, 0x30303030, 0, 0x30303030));
  const __m128i sm = _mm_or_si128(lo, hi);
  const __m128i mins = _mm_shuffle_epi8(sm, _mm_setr_epi8(8, -1, 9, -1, 10, -1, 11, -1, 12, -1, 13, -1, 14, -1, 15, -1));
  return {_mm256_broadcastsi128_si256(sm), mins, _mm_cvtph_ps(_mm_cvtsi32_si128(int(load_u32(reinterpret_cast<const uint8_t*>(d_dmin)))))};
}

// Per (row, token) accumulator of the types with mins: the scale part in 8 lanes, the min part in 4.
struct AccMin {
  __m256 v;
  __m128 m;
};

// Adds d·Σ_j sc_j·Σ q·y - dmin·Σ_j m_j·(bsum_2j + bsum_2j+1) for one block whose integer part is isum.
KQ_AVX2_INLINE void finish_scale_min(const ScaleMinRow& w, const ActQ8K& a, __m256i isum, AccMin& acc) {
  const __m128 dd = _mm_mul_ps(w.d, a.d);  // [d·d_y, dmin·d_y]
  acc.v = _mm256_fmadd_ps(_mm256_broadcastss_ps(dd), _mm256_cvtepi32_ps(isum), acc.v);
  const __m128 mins = _mm_cvtepi32_ps(_mm_madd_epi16(a.bpairs, w.mins));
  acc.m = _mm_fnmadd_ps(_mm_shuffle_ps(dd, dd, 0x55), mins, acc.m);
}

KQ_AVX2_INLINE float finish_min(const AccMin& acc) {
  __m128 m = _mm_add_ps(acc.m, _mm_movehl_ps(acc.m, acc.m));
  m = _mm_add_ss(m, _mm_movehdup_ps(m));
  return hsum(acc.v) + _mm_cvtss_f32(m);
}

struct Q4_KK {
  using WBlock = BlockQ4K;
  using ABlock = BlockQ8K;
  static constexpr int kBlock = 256, kRows1 = 2, kRowsN = 1, kTail = 0, kTailWBytes = 0, kTailABytes = 0;
  struct Row {
    const uint8_t* qs;
    ScaleMinRow s;
  };
  using Act = ActQ8K;
  using Acc = AccMin;
  static KQ_AVX2_INLINE Row load_row(const WBlock& b) { return {b.qs, unpack_scale_min(b.scales, &b.d)}; }
  static KQ_AVX2_INLINE Act load_act(const ABlock& b) { return load_act_q8k(b); }
  template <int c>
  static KQ_AVX2_INLINE __m256i pair(const Row& w, const Act& a) {
    const __m256i raw = load256(w.qs + 32 * c);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i lo = _mm256_maddubs_epi16(_mm256_and_si256(raw, m4), load256(a.qs + 64 * c));
    const __m256i hi = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(raw, 4), m4), load256(a.qs + 64 * c + 32));
    return _mm256_add_epi32(_mm256_madd_epi16(lo, bcast8to16<2 * c>(w.s.sc)),
                            _mm256_madd_epi16(hi, bcast8to16<2 * c + 1>(w.s.sc)));
  }
  static KQ_AVX2_INLINE void dot(const Row& w, const Act& a, Acc& acc) {
    const __m256i s01 = _mm256_add_epi32(pair<0>(w, a), pair<1>(w, a));
    const __m256i s23 = _mm256_add_epi32(pair<2>(w, a), pair<3>(w, a));
    finish_scale_min(w.s, a, _mm256_add_epi32(s01, s23), acc);
  }
  static KQ_AVX2_INLINE Acc zero() { return {_mm256_setzero_ps(), _mm_setzero_ps()}; }
  static KQ_AVX2_INLINE float finish(const Acc& acc) { return finish_min(acc); }
};

struct Q5_KK {
  using WBlock = BlockQ5K;
  using ABlock = BlockQ8K;
  static constexpr int kBlock = 256, kRows1 = 2, kRowsN = 1, kTail = 0, kTailWBytes = 0, kTailABytes = 0;
  struct Row {
    const uint8_t* qs;
    const uint8_t* qh;
    ScaleMinRow s;
  };
  using Act = ActQ8K;
  using Acc = AccMin;
  static KQ_AVX2_INLINE Row load_row(const WBlock& b) {
    return {b.qs, b.qh, unpack_scale_min(b.scales, &b.d)};
  }
  static KQ_AVX2_INLINE Act load_act(const ABlock& b) { return load_act_q8k(b); }
  // Sub-blocks 2c (low nibbles, high bit 2c of qh) and 2c+1 (high nibbles, bit 2c+1).
  template <int c>
  static KQ_AVX2_INLINE __m256i pair(const Row& w, const Act& a, __m256i hbits) {
    const __m256i raw = load256(w.qs + 32 * c);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i q0 = _mm256_or_si256(_mm256_and_si256(raw, m4), move_bit<2 * c, 4>(hbits));
    const __m256i q1 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(raw, 4), m4), move_bit<2 * c + 1, 4>(hbits));
    const __m256i lo = _mm256_maddubs_epi16(q0, load256(a.qs + 64 * c));
    const __m256i hi = _mm256_maddubs_epi16(q1, load256(a.qs + 64 * c + 32));
    return _mm256_add_epi32(_mm256_madd_epi16(lo, bcast8to16<2 * c>(w.s.sc)),
                            _mm256_madd_epi16(hi, bcast8to16<2 * c + 1>(w.s.sc)));
  }
  static KQ_AVX2_INLINE void dot(const Row& w, const Act& a, Acc& acc) {
    const __m256i hbits = load256(w.qh);
    const __m256i s01 = _mm256_add_epi32(pair<0>(w, a, hbits), pair<1>(w, a, hbits));
    const __m256i s23 = _mm256_add_epi32(pair<2>(w, a, hbits), pair<3>(w, a, hbits));
    finish_scale_min(w.s, a, _mm256_add_epi32(s01, s23), acc);
  }
  static KQ_AVX2_INLINE Acc zero() { return {_mm256_setzero_ps(), _mm_setzero_ps()}; }
  static KQ_AVX2_INLINE float finish(const Acc& acc) { return finish_min(acc); }
};

// ---- Q2_K / Q3_K / Q6_K: sixteen 16-element sub-blocks, processed as eight 32-element chunks ----

struct Q6_KK {
  using WBlock = BlockQ6K;
  using ABlock = BlockQ8K;
  static constexpr int kBlock = 256, kRows1 = 2, kRowsN = 1, kTail = 0, kTailWBytes = 0, kTailABytes = 0;
  struct Row {
    const uint8_t* ql;
    const uint8_t* qh;
    Scales16 s;  // signed scales
    float d;
  };
  using Act = ActQ8K;
  using Acc = __m256;
  static KQ_AVX2_INLINE Row load_row(const WBlock& b) {
    return {b.ql, b.qh, split_scales(_mm256_cvtepi8_epi16(load128(b.scales))), f16(b.d)};
  }
  static KQ_AVX2_INLINE Act load_act(const ABlock& b) { return load_act_q8k(b); }
  // Chunk 4h+k: low nibbles of ql[64h + 32(k%2) ..] (k < 2) or their high nibbles, bits 2k..2k+1 of qh.
  template <int h, int k>
  static KQ_AVX2_INLINE __m256i chunk(const Row& w, const Act& a, __m256i ql, __m256i qh) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x30);
    const __m256i low = k < 2 ? _mm256_and_si256(ql, m4) : _mm256_and_si256(_mm256_srli_epi16(ql, 4), m4);
    __m256i high;
    if constexpr (2 * k <= 4) high = _mm256_and_si256(_mm256_slli_epi16(qh, 4 - 2 * k), m2);
    else high = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * k - 4), m2);
    const __m256i p = _mm256_maddubs_epi16(_mm256_or_si256(low, high), load256(a.qs + 128 * h + 32 * k));
    return _mm256_madd_epi16(p, chunk_scales<4 * h + k>(w.s.lo, w.s.hi));
  }
  template <int h>
  static KQ_AVX2_INLINE __m256i half(const Row& w, const Act& a) {
    const __m256i ql0 = load256(w.ql + 64 * h), ql1 = load256(w.ql + 64 * h + 32), qh = load256(w.qh + 32 * h);
    const __m256i s01 = _mm256_add_epi32(chunk<h, 0>(w, a, ql0, qh), chunk<h, 1>(w, a, ql1, qh));
    const __m256i s23 = _mm256_add_epi32(chunk<h, 2>(w, a, ql0, qh), chunk<h, 3>(w, a, ql1, qh));
    return _mm256_add_epi32(s01, s23);
  }
  static KQ_AVX2_INLINE void dot(const Row& w, const Act& a, Acc& acc) {
    // Σ_j s_j·Σ (q - 32)·y = Σ_j s_j·Σ q·y - 32·Σ_j s_j·bsum_j.
    const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(a.bsums, w.s.all), 5);
    const __m256i isum = _mm256_sub_epi32(_mm256_add_epi32(half<0>(w, a), half<1>(w, a)), offset);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(w.d * _mm_cvtss_f32(a.d)), _mm256_cvtepi32_ps(isum), acc);
  }
  static KQ_AVX2_INLINE Acc zero() { return _mm256_setzero_ps(); }
  static KQ_AVX2_INLINE float finish(const Acc& acc) { return hsum(acc); }
};

struct Q3_KK {
  using WBlock = BlockQ3K;
  using ABlock = BlockQ8K;
  static constexpr int kBlock = 256, kRows1 = 2, kRowsN = 1, kTail = 0, kTailWBytes = 0, kTailABytes = 0;
  struct Row {
    const uint8_t* qs;
    const uint8_t* hmask;
    Scales16 s;  // u_j - 32
    float d;
  };
  using Act = ActQ8K;
  using Acc = __m256;
  static KQ_AVX2_INLINE Row load_row(const WBlock& b) {
    const uint32_t a0 = load_u32(b.scales), a1 = load_u32(b.scales + 4), a2 = load_u32(b.scales + 8);
    const uint32_t m4 = 0x0f0f0f0fu, m2 = 0x03030303u;
    // Scales 4q..4q+3: low nibbles from bytes 0..7, bits 4-5 from bits 2q..2q+1 of bytes 8..11.
    const uint32_t g0 = (a0 & m4) | ((a2 & m2) << 4);
    const uint32_t g1 = (a1 & m4) | (((a2 >> 2) & m2) << 4);
    const uint32_t g2 = ((a0 >> 4) & m4) | (((a2 >> 4) & m2) << 4);
    const uint32_t g3 = ((a1 >> 4) & m4) | (((a2 >> 6) & m2) << 4);
    const __m128i u = _mm_sub_epi8(_mm_setr_epi32(int(g0), int(g1), int(g2), int(g3)), _mm_set1_epi8(32));
    return {b.qs, b.hmask, split_scales(_mm256_cvtepi8_epi16(u)), f16(b.d)};
  }
  static KQ_AVX2_INLINE Act load_act(const ABlock& b) { return load_act_q8k(b); }
  // Chunk i = 4h+s: bits 2s..2s+1 of qs[32h..], bit i of hmask as bit 2 (level + 4, 0..7).
  template <int h, int s>
  static KQ_AVX2_INLINE __m256i chunk(const Row& w, const Act& a, __m256i q2, __m256i hm) {
    const __m256i lo = _mm256_and_si256(_mm256_srli_epi16(q2, 2 * s), _mm256_set1_epi8(3));
    const __m256i u = _mm256_or_si256(lo, move_bit<4 * h + s, 2>(hm));
    const __m256i p = _mm256_maddubs_epi16(u, load256(a.qs + 128 * h + 32 * s));
    return _mm256_madd_epi16(p, chunk_scales<4 * h + s>(w.s.lo, w.s.hi));
  }
  template <int h>
  static KQ_AVX2_INLINE __m256i half(const Row& w, const Act& a, __m256i hm) {
    const __m256i q2 = load256(w.qs + 32 * h);
    const __m256i s01 = _mm256_add_epi32(chunk<h, 0>(w, a, q2, hm), chunk<h, 1>(w, a, q2, hm));
    const __m256i s23 = _mm256_add_epi32(chunk<h, 2>(w, a, q2, hm), chunk<h, 3>(w, a, q2, hm));
    return _mm256_add_epi32(s01, s23);
  }
  static KQ_AVX2_INLINE void dot(const Row& w, const Act& a, Acc& acc) {
    const __m256i hm = load256(w.hmask);
    // Σ_j S_j·Σ (u - 4)·y = Σ_j S_j·Σ u·y - 4·Σ_j S_j·bsum_j.
    const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(a.bsums, w.s.all), 2);
    const __m256i isum = _mm256_sub_epi32(_mm256_add_epi32(half<0>(w, a, hm), half<1>(w, a, hm)), offset);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(w.d * _mm_cvtss_f32(a.d)), _mm256_cvtepi32_ps(isum), acc);
  }
  static KQ_AVX2_INLINE Acc zero() { return _mm256_setzero_ps(); }
  static KQ_AVX2_INLINE float finish(const Acc& acc) { return hsum(acc); }
};

struct Q2_KK {
  using WBlock = BlockQ2K;
  using ABlock = BlockQ8K;
  static constexpr int kBlock = 256, kRows1 = 2, kRowsN = 1, kTail = 0, kTailWBytes = 0, kTailABytes = 0;
  struct Row {
    const uint8_t* qs;
    Scales16 s;     // 4-bit scales
    __m256i mins;   // 4-bit mins, int16
    float d, dmin;
  };
  using Act = ActQ8K;
  using Acc = __m256;
  static KQ_AVX2_INLINE Row load_row(const WBlock& b) {
    const __m128i raw = load128(b.scales);
    const __m128i m4 = _mm_set1_epi8(0x0F);
    const __m256i sc = _mm256_cvtepu8_epi16(_mm_and_si128(raw, m4));
    const __m256i mn = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(raw, 4), m4));
    return {b.qs, split_scales(sc), mn, f16(b.d), f16(b.dmin)};
  }
  static KQ_AVX2_INLINE Act load_act(const ABlock& b) { return load_act_q8k(b); }
  template <int h, int s>
  static KQ_AVX2_INLINE __m256i chunk(const Row& w, const Act& a, __m256i q2) {
    const __m256i q = _mm256_and_si256(_mm256_srli_epi16(q2, 2 * s), _mm256_set1_epi8(3));
    const __m256i p = _mm256_maddubs_epi16(q, load256(a.qs + 128 * h + 32 * s));
    return _mm256_madd_epi16(p, chunk_scales<4 * h + s>(w.s.lo, w.s.hi));
  }
  template <int h>
  static KQ_AVX2_INLINE __m256i half(const Row& w, const Act& a) {
    const __m256i q2 = load256(w.qs + 32 * h);
    const __m256i s01 = _mm256_add_epi32(chunk<h, 0>(w, a, q2), chunk<h, 1>(w, a, q2));
    const __m256i s23 = _mm256_add_epi32(chunk<h, 2>(w, a, q2), chunk<h, 3>(w, a, q2));
    return _mm256_add_epi32(s01, s23);
  }
  static KQ_AVX2_INLINE void dot(const Row& w, const Act& a, Acc& acc) {
    const __m256i isum = _mm256_add_epi32(half<0>(w, a), half<1>(w, a));
    const __m256i mins = _mm256_madd_epi16(a.bsums, w.mins);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(w.d * _mm_cvtss_f32(a.d)), _mm256_cvtepi32_ps(isum), acc);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(-(w.dmin * _mm_cvtss_f32(a.d))), _mm256_cvtepi32_ps(mins), acc);
  }
  static KQ_AVX2_INLINE Acc zero() { return _mm256_setzero_ps(); }
  static KQ_AVX2_INLINE float finish(const Acc& acc) { return hsum(acc); }
};

// ---- IQ4_XS: eight 32-element sub-blocks of table values with 6-bit scales (offset 32) ----

struct IQ4_XSK {
  using WBlock = BlockIQ4XS;
  using ABlock = BlockQ8K;
  static constexpr int kBlock = 256, kRows1 = 2, kRowsN = 1, kTail = 0, kTailWBytes = 0, kTailABytes = 0;
  struct Row {
    const uint8_t* qs;
    __m256i sc;  // [ls0-32 .. ls7-32 | same] int16
    float d;
  };
  using Act = ActQ8K;
  using Acc = __m256;
  static KQ_AVX2_INLINE Row load_row(const WBlock& b) {
    const __m128i l = _mm_cvtsi32_si128(int(load_u32(b.scales_l)));
    const __m128i m4 = _mm_set1_epi8(0x0F);
    // Low nibble of byte k is sub-block 2k, high nibble 2k+1.
    const __m128i lo4 = _mm_unpacklo_epi8(_mm_and_si128(l, m4), _mm_and_si128(_mm_srli_epi16(l, 4), m4));
    uint64_t hi2 = 0;
    for (int ib = 0; ib < 8; ++ib) hi2 |= uint64_t((b.scales_h >> (2 * ib)) & 3) << (8 * ib + 4);
    const __m128i ls = _mm_or_si128(lo4, _mm_cvtsi64_si128(int64_t(hi2)));
    const __m128i s16 = _mm_cvtepi8_epi16(_mm_sub_epi8(ls, _mm_set1_epi8(32)));
    return {b.qs, _mm256_broadcastsi128_si256(s16), f16(b.d)};
  }
  static KQ_AVX2_INLINE Act load_act(const ABlock& b) { return load_act_q8k(b); }
  template <int ib>
  static KQ_AVX2_INLINE __m256i sub(const Row& w, const Act& a, __m256i table) {
    const __m256i v = _mm256_shuffle_epi8(table, nibbles_lo_hi(load128(w.qs + 16 * ib)));
    const __m256i y = load256(a.qs + 32 * ib);
    // Table values are never -128, so they take y's sign and |y| is the unsigned side: exact.
    const __m256i p = _mm256_maddubs_epi16(_mm256_abs_epi8(y), _mm256_sign_epi8(v, y));
    return _mm256_madd_epi16(p, bcast16<ib>(w.sc));
  }
  static KQ_AVX2_INLINE void dot(const Row& w, const Act& a, Acc& acc) {
    const __m256i table = _mm256_broadcastsi128_si256(load128(kIq4nlValues));
    const __m256i s01 = _mm256_add_epi32(sub<0>(w, a, table), sub<1>(w, a, table));
    const __m256i s23 = _mm256_add_epi32(sub<2>(w, a, table), sub<3>(w, a, table));
    const __m256i s45 = _mm256_add_epi32(sub<4>(w, a, table), sub<5>(w, a, table));
    const __m256i s67 = _mm256_add_epi32(sub<6>(w, a, table), sub<7>(w, a, table));
    const __m256i isum = _mm256_add_epi32(_mm256_add_epi32(s01, s23), _mm256_add_epi32(s45, s67));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(w.d * _mm_cvtss_f32(a.d)), _mm256_cvtepi32_ps(isum), acc);
  }
  static KQ_AVX2_INLINE Acc zero() { return _mm256_setzero_ps(); }
  static KQ_AVX2_INLINE float finish(const Acc& acc) { return hsum(acc); }
};

}  // namespace

void fill_kquant(KernelTable& t) {
  install<Q2_KK>(t, QType::Q2_K);
  install<Q3_KK>(t, QType::Q3_K);
  install<Q4_KK>(t, QType::Q4_K);
  install<Q5_KK>(t, QType::Q5_K);
  install<Q6_KK>(t, QType::Q6_K);
  install<IQ4_XSK>(t, QType::IQ4_XS);
}

}  // namespace kq::avx2
