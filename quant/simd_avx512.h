// AVX-512 decode kernels shared by quant/kernels_avx512.cpp (AVX-512F/BW/VL/DQ, instantiated with
// V = false: maddubs + madd) and quant/kernels_avx512vnni.cpp (V = true: dpbusd / dpwssd). Include
// only from a file compiled with those flags. Everything here has internal linkage, so each file
// keeps its own copy built with its own instruction set (no ODR merge across ISA levels).
//
// Shape of every kernel: one *step* covers kStep elements of a row (a K-quant super-block, four
// 32-element blocks, or 128 floats). K::act decodes one activation step (shared by every weight
// row of the tile), K::wts one weight step (shared by every token), K::dot adds their product to
// the (row, token) accumulator. Where the weights' natural unpacking does not match element order
// (Q4_K, Q5_K, Q2_K, Q3_K, IQ4_XS, the nibble 32-block types), the activations are permuted once
// per token instead. tile<K, R, T> runs R rows × T tokens; each (row, token) pair sees the same
// instruction sequence whatever R and T are, so a row's result does not depend on the tile
// (mul_rows and vec_dot agree bit for bit). Integer parts are exact; quant types round in f32
// per lane (one or two fmas per step, then a fixed 16-lane tree); float types run one f32 FMA
// chain per lane over the whole row, then the same tree.
//
// Activation quants are assumed in [-127, 127], which every converter produces (Q8_0/Q8_1:
// nearest(x·127/amax); Q8_K: the extreme maps to -127). The sign-transfer paths (Q8_0, IQ4_NL
// without VNNI; IQ4_XS) rely on it; the offset paths (everything else) are exact for any int8.
#pragma once

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512DQ__) || !defined(__AVX512VL__)
#error "quant/simd_avx512.h needs -mavx512f -mavx512bw -mavx512dq -mavx512vl"
#endif

// GCC 12's AVX-512 intrinsics pass a self-initialized "undefined" vector as the masked-off source
// (_mm512_cvtph_ps, _mm512_inserti64x4, ...), which -Wall reports once inlined into our code.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "quant/kernels.h"

namespace kq {

// Installs the VNNI entries (quant/kernels_avx512vnni.cpp); called by fill_kernels_avx512
// only when the CPU has avx512vnni.
void fill_kernels_avx512vnni(KernelTable& t, const CpuFeatures& cpu);

namespace avx512_search {
void fill_scale_search(KernelTable& t);  // the quantizers' batched searches (quant/scale_search_avx512.cpp)
}

namespace {
namespace avx512 {

#define KQ_AI inline __attribute__((always_inline))

// ---------------------------------------------------------------------------------------------
// Small helpers.

KQ_AI uint16_t ld_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
KQ_AI uint32_t ld_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
KQ_AI float ld_f32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, 4);
  return v;
}
KQ_AI float f16(const uint8_t* p) { return _cvtsh_ss(ld_u16(p)); }

KQ_AI __m128i ld128(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
KQ_AI __m256i ld256(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
KQ_AI __m512i ld512(const uint8_t* p) { return _mm512_loadu_si512(p); }
// 32 bytes into both 256-bit halves.
KQ_AI __m512i bcast256(const uint8_t* p) { return _mm512_broadcast_i64x4(ld256(p)); }
// 64 bytes from two 32-byte pieces.
KQ_AI __m512i join256(const uint8_t* lo, const uint8_t* hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(ld256(lo)), ld256(hi), 1);
}
// A 16-bit value per 256-bit half (lo in the low half, hi in the high half): shift counts, masks.
KQ_AI __m512i halves16(short lo, short hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16(lo)), _mm256_set1_epi16(hi), 1);
}
// The fixed 16-lane reduction every kernel ends with.
KQ_AI float hsum(__m512 v) {
  const __m256 a = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  b = _mm_add_ps(b, _mm_movehl_ps(b, b));
  b = _mm_add_ss(b, _mm_movehdup_ps(b));
  return _mm_cvtss_f32(b);
}

// acc + Σ over groups of 4 of u8 × s8 (int32 lanes). The BW form goes through int16 pair sums, so
// it needs |u·s + u'·s'| <= 32767 (true for u <= 127 or |s| <= 127 with u <= 128).
template <bool V>
KQ_AI __m512i dot_u8s8(__m512i acc, __m512i u, __m512i s) {
#if defined(__AVX512VNNI__)
  if constexpr (V) return _mm512_dpbusd_epi32(acc, u, s);
#endif
  return _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(u, s), _mm512_set1_epi16(1)));
}
// acc + Σ over pairs of int16 × int16 (int32 lanes).
template <bool V>
KQ_AI __m512i dot_s16(__m512i acc, __m512i a, __m512i b) {
#if defined(__AVX512VNNI__)
  if constexpr (V) return _mm512_dpwssd_epi32(acc, a, b);
#endif
  return _mm512_add_epi32(acc, _mm512_madd_epi16(a, b));
}
// y negated where neg is set: moves a weight's sign onto the activation so that |w|·(±y) can go
// through maddubs (|w| unsigned). Exact while y != -128.
KQ_AI __m512i sign_to(__m512i y, __mmask64 neg) { return _mm512_mask_sub_epi8(y, neg, _mm512_setzero_si512(), y); }

// Sixteen int16 scales (ymm) spread over the 32 int16 lanes of a maddubs result for elements
// 64k..64k+63 at 16 elements per scale: lanes 8j..8j+7 get scale 4k+j.
template <int k>
KQ_AI __m512i spread16(__m512i sc16) {
  const __m512i idx = _mm512_set_epi16(4 * k + 3, 4 * k + 3, 4 * k + 3, 4 * k + 3, 4 * k + 3, 4 * k + 3, 4 * k + 3,
                                       4 * k + 3, 4 * k + 2, 4 * k + 2, 4 * k + 2, 4 * k + 2, 4 * k + 2, 4 * k + 2,
                                       4 * k + 2, 4 * k + 2, 4 * k + 1, 4 * k + 1, 4 * k + 1, 4 * k + 1, 4 * k + 1,
                                       4 * k + 1, 4 * k + 1, 4 * k + 1, 4 * k, 4 * k, 4 * k, 4 * k, 4 * k, 4 * k,
                                       4 * k, 4 * k);
  return _mm512_permutexvar_epi16(idx, sc16);
}
constexpr int kRowsOneToken = 8;  // rows per tile for one token (4 for several tokens)
static_assert(kRowsOneToken == 8, "mul_rows dispatches 8-row tiles by count");

// ---------------------------------------------------------------------------------------------
// K-quants (256 elements per step, Q8_K activations: f32 d at 0, qs at 4, int16 bsums at 260).

struct ActK {
  const uint8_t* q;  // 256 activation quants
  __m512 dy;         // d broadcast
  __m256i bs;        // 16 bsums
};
KQ_AI ActK act_k(const uint8_t* a) { return {a + 4, _mm512_set1_ps(ld_f32(a)), ld256(a + 260)}; }

// Activations for the Q2_K / Q3_K layout: y[s] = element groups (s, 4+s) of 32, matching a 64-byte
// qs load shifted by 2s (low half: bytes 0-31 = elements 32s+l, high half: 128+32s+l).
struct ActK2 {
  __m512i y[4];
  __m512 dy;
  __m256i bs;  // 16 bsums
};
KQ_AI ActK2 act_k2(const uint8_t* a) {
  ActK2 r;
  const __m512i y0 = ld512(a + 4), y1 = ld512(a + 68), y2 = ld512(a + 132), y3 = ld512(a + 196);
  r.y[0] = _mm512_shuffle_i64x2(y0, y2, _MM_SHUFFLE(1, 0, 1, 0));
  r.y[1] = _mm512_shuffle_i64x2(y0, y2, _MM_SHUFFLE(3, 2, 3, 2));
  r.y[2] = _mm512_shuffle_i64x2(y1, y3, _MM_SHUFFLE(1, 0, 1, 0));
  r.y[3] = _mm512_shuffle_i64x2(y1, y3, _MM_SHUFFLE(3, 2, 3, 2));
  r.dy = _mm512_set1_ps(ld_f32(a));
  r.bs = ld256(a + 260);
  return r;
}
// pshufb control taking, as int16, byte (or word, kWords) j0..j3 of 128-bit lanes 0..3.
template <bool kWords>
KQ_AI __m512i lane_pick(int j0, int j1, int j2, int j3) {
  const auto v = [](int j) { return _mm_set1_epi16(short(kWords ? ((2 * j) | ((2 * j + 1) << 8)) : (0x8000 | j))); };
  return _mm512_inserti64x4(
      _mm512_castsi256_si512(_mm256_inserti128_si256(_mm256_castsi128_si256(v(j0)), v(j1), 1)),
      _mm256_inserti128_si256(_mm256_castsi128_si256(v(j2)), v(j3), 1), 1);
}

// The Q4_K / Q5_K 12-byte scales field at p (16 bytes readable) decoded (get_scale_min_k4) as
// [sc0..sc7, m0..m7] bytes, all 32-bit words at once.
KQ_AI __m128i k4_scale_bytes(const uint8_t* p) {
  const __m128i b = ld128(p);                                       // [u0, u1, u2, -]
  const __m128i x = _mm_shuffle_epi32(b, _MM_SHUFFLE(2, 1, 2, 0));  // [u0, u2, u1, u2]
  const __m128i y = _mm_shuffle_epi32(b, _MM_SHUFFLE(1, 1, 0, 0));  // [u0, u0, u1, u1]
  const __m128i lo = _mm_and_si128(_mm_srlv_epi32(x, _mm_setr_epi32(0, 0, 0, 4)),
                                   _mm_setr_epi32(0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F));
  const __m128i hi = _mm_and_si128(_mm_srli_epi32(y, 2), _mm_setr_epi32(0, 0x30303030, 0, 0x30303030));
  return _mm_or_si128(lo, hi);
}
// Byte j of every 128-bit lane as int16, j = lo in the low 256 bits and hi in the high 256 bits.
KQ_AI __m512i spread_bytes(__m512i b, int lo, int hi) {
  return _mm512_shuffle_epi8(b, halves16(short(0x8000 | lo), short(0x8000 | hi)));
}

// Accumulator of Q4_K / Q5_K: the scale terms in 16 lanes, the (negated) min terms in 4.
struct AccZX {
  __m512 a;
  __m128 m;
};

// Q4_K: d, dmin, scales[12], qs[128]. Element 64k+i: low nibble of qs[32k+i] (i < 32), else high.
// The weights are unpacked as two 64-byte loads: lo(qs[0..63]) holds sub-blocks 0 and 2, hi() 1
// and 3 (4-7 likewise from qs[64..127]); the activations are permuted to match once per token.
template <bool V>
struct KQ4K {
  static constexpr int64_t kStep = 256;
  static constexpr size_t kWStep = 144, kAStep = 292;
  using Acc = AccZX;
  struct A {
    __m512i y[4];  // sub-blocks [0,2], [1,3], [4,6], [5,7]
    __m128 dy;
    __m128i bp;    // 8 int16: bsums[2j] + bsums[2j+1]
  };
  struct W {
    __m512i u[4], s[4];
    __m128i m;   // 8 int16 mins
    __m128 dd;   // [d, dmin, -, -]
  };
  template <bool Full>
  static KQ_AI A act(const uint8_t* a, int) {
    A r;
    const __m512i y0 = ld512(a + 4), y1 = ld512(a + 68), y2 = ld512(a + 132), y3 = ld512(a + 196);
    r.y[0] = _mm512_shuffle_i64x2(y0, y1, _MM_SHUFFLE(1, 0, 1, 0));
    r.y[1] = _mm512_shuffle_i64x2(y0, y1, _MM_SHUFFLE(3, 2, 3, 2));
    r.y[2] = _mm512_shuffle_i64x2(y2, y3, _MM_SHUFFLE(1, 0, 1, 0));
    r.y[3] = _mm512_shuffle_i64x2(y2, y3, _MM_SHUFFLE(3, 2, 3, 2));
    r.dy = _mm_set1_ps(ld_f32(a));
    const __m256i p = _mm256_madd_epi16(ld256(a + 260), _mm256_set1_epi16(1));
    r.bp = _mm_packs_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
    return r;
  }
  // Scales (pairs matching u), mins, d and dmin of the block at w.
  static KQ_AI void scales(W& r, const uint8_t* w) {
    const __m128i sm = k4_scale_bytes(w + 4);
    const __m512i b = _mm512_broadcast_i32x4(sm);
    r.s[0] = spread_bytes(b, 0, 2);
    r.s[1] = spread_bytes(b, 1, 3);
    r.s[2] = spread_bytes(b, 4, 6);
    r.s[3] = spread_bytes(b, 5, 7);
    r.m = _mm_cvtepu8_epi16(_mm_unpackhi_epi64(sm, sm));
    r.dd = _mm_cvtph_ps(_mm_cvtsi32_si128(int(ld_u32(w))));
  }
  template <bool Full>
  static KQ_AI W wts(const uint8_t* w, int) {
    W r;
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const __m512i q0 = ld512(w + 16), q1 = ld512(w + 80);
    r.u[0] = _mm512_and_si512(q0, m4);
    r.u[1] = _mm512_and_si512(_mm512_srli_epi16(q0, 4), m4);
    r.u[2] = _mm512_and_si512(q1, m4);
    r.u[3] = _mm512_and_si512(_mm512_srli_epi16(q1, 4), m4);
    scales(r, w);
    return r;
  }
  static KQ_AI void dot(Acc& acc, const W& w, const A& a) {
    __m512i s = _mm512_madd_epi16(_mm512_maddubs_epi16(w.u[0], a.y[0]), w.s[0]);
    s = dot_s16<V>(s, _mm512_maddubs_epi16(w.u[1], a.y[1]), w.s[1]);
    s = dot_s16<V>(s, _mm512_maddubs_epi16(w.u[2], a.y[2]), w.s[2]);
    s = dot_s16<V>(s, _mm512_maddubs_epi16(w.u[3], a.y[3]), w.s[3]);
    const __m128i mins = _mm_madd_epi16(w.m, a.bp);
    const __m128 dd = _mm_mul_ps(w.dd, a.dy);  // [d·dy, dmin·dy]
    acc.a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_broadcastss_ps(dd), acc.a);
    acc.m = _mm_fnmadd_ps(_mm_cvtepi32_ps(mins), _mm_shuffle_ps(dd, dd, 0x55), acc.m);
  }
};

// Q5_K: d, dmin, scales[12], qh[32], qs[128]: Q4_K nibbles plus bit m of qh[i] for element 32m+i.
template <bool V>
struct KQ5K {
  static constexpr int64_t kStep = 256;
  static constexpr size_t kWStep = 176, kAStep = 292;
  using Acc = AccZX;
  using A = typename KQ4K<V>::A;
  using W = typename KQ4K<V>::W;
  template <bool Full>
  static KQ_AI A act(const uint8_t* a, int n) {
    return KQ4K<V>::template act<Full>(a, n);
  }
  template <bool Full>
  static KQ_AI W wts(const uint8_t* w, int) {
    W r;
    const __m512i m4 = _mm512_set1_epi8(0x0F), b4 = _mm512_set1_epi8(0x10);
    const __m512i h = bcast256(w + 16);
    const __m512i q0 = ld512(w + 48), q1 = ld512(w + 112);
    const __m512i lo[4] = {_mm512_and_si512(q0, m4), _mm512_and_si512(_mm512_srli_epi16(q0, 4), m4),
                           _mm512_and_si512(q1, m4), _mm512_and_si512(_mm512_srli_epi16(q1, 4), m4)};
    // u[k] holds sub-blocks (a, b) = (0,2), (1,3), (4,6), (5,7): qh bits a and b.
    const __mmask64 hb[4] = {_mm512_test_epi8_mask(h, halves16(0x0101, 0x0404)),
                             _mm512_test_epi8_mask(h, halves16(0x0202, 0x0808)),
                             _mm512_test_epi8_mask(h, halves16(0x1010, 0x4040)),
                             _mm512_test_epi8_mask(h, halves16(0x2020, int16_t(0x8080)))};
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) r.u[k] = _mm512_mask_add_epi8(lo[k], hb[k], lo[k], b4);
    KQ4K<V>::scales(r, w);
    return r;
  }
  static KQ_AI void dot(Acc& acc, const W& w, const A& a) { KQ4K<V>::dot(acc, w, a); }
};

// Q6_K and Q3_K: symmetric levels stored with an offset o (u = q + o, u >= 0), signed per-16
// scales; Σ sc·q·y = Σ sc·u·y - o·Σ sc·bsum, all in int32, then one f32 scale.
struct WSym {
  __m512i u[4], s[4];
  __m512i c;  // 16 int16 -o·sc (low half), for dpwssd with the bsums
  __m512 d;
};
template <bool V>
KQ_AI void dot_sym(__m512& acc, const WSym& w, const ActK& a) {
  __m512i s = _mm512_madd_epi16(_mm512_maddubs_epi16(w.u[0], ld512(a.q)), w.s[0]);
  s = dot_s16<V>(s, _mm512_maddubs_epi16(w.u[1], ld512(a.q + 64)), w.s[1]);
  s = dot_s16<V>(s, _mm512_maddubs_epi16(w.u[2], ld512(a.q + 128)), w.s[2]);
  s = dot_s16<V>(s, _mm512_maddubs_epi16(w.u[3], ld512(a.q + 192)), w.s[3]);
  s = dot_s16<V>(s, w.c, _mm512_zextsi256_si512(a.bs));
  acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(w.d, a.dy), acc);
}
KQ_AI void sym_scales(WSym& r, __m256i sc16, int log2_offset) {
  const __m512i z = _mm512_castsi256_si512(sc16);
  r.s[0] = spread16<0>(z);
  r.s[1] = spread16<1>(z);
  r.s[2] = spread16<2>(z);
  r.s[3] = spread16<3>(z);
  const __m256i c = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_sll_epi16(sc16, _mm_cvtsi32_si128(log2_offset)));
  r.c = _mm512_zextsi256_si512(c);
}

// Q6_K: ql[128], qh[64], scales[16] (int8), d. Element 128h+32k+l: ql[64h+32(k%2)+l] nibble k/2,
// high bits (qh[32h+l] >> 2k) & 3; level - 32.
template <bool V>
struct KQ6K {
  static constexpr int64_t kStep = 256;
  static constexpr size_t kWStep = 210, kAStep = 292;
  using A = ActK;
  using W = WSym;
  template <bool Full>
  static KQ_AI A act(const uint8_t* a, int) {
    return act_k(a);
  }
  template <bool Full>
  static KQ_AI W wts(const uint8_t* w, int) {
    W r;
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      const __m512i l = ld512(w + 64 * h);
      const __m512i hh = bcast256(w + 128 + 32 * h);
      const __m512i h01 = _mm512_sllv_epi16(hh, halves16(4, 2));  // bits 0-1 / 2-3 to 4-5
      const __m512i h23 = _mm512_srlv_epi16(hh, halves16(0, 2));  // bits 4-5 / 6-7 to 4-5
      r.u[2 * h] = _mm512_ternarylogic_epi32(_mm512_and_si512(l, m4), h01, m30, 0xF8);
      r.u[2 * h + 1] = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4), h23, m30, 0xF8);
    }
    sym_scales(r, _mm256_cvtepi8_epi16(ld128(w + 192)), 5);
    r.d = _mm512_set1_ps(f16(w + 208));
    return r;
  }
  static KQ_AI void dot(__m512& acc, const W& w, const A& a) { dot_sym<V>(acc, w, a); }
};

// Q3_K: hmask[32], qs[64], scales[12], d. Element 128h+32s+l: (qs[32h+l] >> 2s) & 3, plus 4 when
// bit (4h+s) of hmask[l] is set; level - 4. Scales 6-bit with offset 32.
template <bool V>
struct KQ3K {
  static constexpr int64_t kStep = 256;
  static constexpr size_t kWStep = 110, kAStep = 292;
  using A = ActK2;
  using W = WSym;
  template <bool Full>
  static KQ_AI A act(const uint8_t* a, int) {
    return act_k2(a);
  }
  template <bool Full>
  static KQ_AI W wts(const uint8_t* w, int) {
    W r;
    const __m512i m3 = _mm512_set1_epi8(0x03), four = _mm512_set1_epi8(0x04);
    const __m512i hm = bcast256(w), q = ld512(w + 32);
    const __m512i lo[4] = {_mm512_and_si512(q, m3), _mm512_and_si512(_mm512_srli_epi16(q, 2), m3),
                           _mm512_and_si512(_mm512_srli_epi16(q, 4), m3),
                           _mm512_and_si512(_mm512_srli_epi16(q, 6), m3)};
    const __mmask64 hb[4] = {_mm512_test_epi8_mask(hm, halves16(0x0101, 0x1010)),
                             _mm512_test_epi8_mask(hm, halves16(0x0202, 0x2020)),
                             _mm512_test_epi8_mask(hm, halves16(0x0404, 0x4040)),
                             _mm512_test_epi8_mask(hm, halves16(0x0808, short(0x8080)))};
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) r.u[k] = _mm512_mask_add_epi8(lo[k], hb[k], lo[k], four);
    // Sixteen 6-bit scales (get_scale_q3k) into bytes, minus 32.
    const uint32_t a0 = ld_u32(w + 96), a1 = ld_u32(w + 100), t = ld_u32(w + 104);
    const uint32_t s0 = (a0 & 0x0F0F0F0Fu) | ((t & 0x03030303u) << 4);
    const uint32_t s1 = (a1 & 0x0F0F0F0Fu) | (((t >> 2) & 0x03030303u) << 4);
    const uint32_t s2 = ((a0 >> 4) & 0x0F0F0F0Fu) | (((t >> 4) & 0x03030303u) << 4);
    const uint32_t s3 = ((a1 >> 4) & 0x0F0F0F0Fu) | (((t >> 6) & 0x03030303u) << 4);
    const __m128i sc = _mm_sub_epi8(_mm_set_epi32(int(s3), int(s2), int(s1), int(s0)), _mm_set1_epi8(32));
    const __m256i sc16 = _mm256_cvtepi8_epi16(sc);
    // u[s]: sub-blocks (16) 2s, 2s+1 in lanes 0, 1 and 8+2s, 9+2s in lanes 2, 3.
    const __m512i src = _mm512_shuffle_i64x2(_mm512_castsi256_si512(sc16), _mm512_castsi256_si512(sc16),
                                             _MM_SHUFFLE(1, 1, 0, 0));
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) r.s[k] = _mm512_shuffle_epi8(src, lane_pick<true>(2 * k, 2 * k + 1, 2 * k, 2 * k + 1));
    r.c = _mm512_zextsi256_si512(_mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(sc16, 2)));
    r.d = _mm512_set1_ps(f16(w + 108));
    return r;
  }
  static KQ_AI void dot(__m512& acc, const W& w, const A& a) {
    __m512i s = _mm512_madd_epi16(_mm512_maddubs_epi16(w.u[0], a.y[0]), w.s[0]);
    s = dot_s16<V>(s, _mm512_maddubs_epi16(w.u[1], a.y[1]), w.s[1]);
    s = dot_s16<V>(s, _mm512_maddubs_epi16(w.u[2], a.y[2]), w.s[2]);
    s = dot_s16<V>(s, _mm512_maddubs_epi16(w.u[3], a.y[3]), w.s[3]);
    s = dot_s16<V>(s, w.c, _mm512_zextsi256_si512(a.bs));
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(w.d, a.dy), acc);
  }
};

// Q2_K: scales[16] (low nibble scale, high nibble min), qs[64], d, dmin. Element 128h+32s+l:
// (qs[32h+l] >> 2s) & 3.
template <bool V>
struct KQ2K {
  static constexpr int64_t kStep = 256;
  static constexpr size_t kWStep = 84, kAStep = 292;
  using A = ActK2;
  struct W {
    __m512i u[4], s[4];
    __m256i m;  // 16 int16 mins
    __m512 d, dmin;
  };
  template <bool Full>
  static KQ_AI A act(const uint8_t* a, int) {
    return act_k2(a);
  }
  template <bool Full>
  static KQ_AI W wts(const uint8_t* w, int) {
    W r;
    const __m512i m3 = _mm512_set1_epi8(0x03);
    const __m512i q = ld512(w + 16);
    r.u[0] = _mm512_and_si512(q, m3);
    r.u[1] = _mm512_and_si512(_mm512_srli_epi16(q, 2), m3);
    r.u[2] = _mm512_and_si512(_mm512_srli_epi16(q, 4), m3);
    r.u[3] = _mm512_and_si512(_mm512_srli_epi16(q, 6), m3);
    const __m128i sb = ld128(w), m4 = _mm_set1_epi8(0x0F);
    const __m512i sc = _mm512_broadcast_i32x4(_mm_and_si128(sb, m4));
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) r.s[k] = _mm512_shuffle_epi8(sc, lane_pick<false>(2 * k, 2 * k + 1, 8 + 2 * k, 9 + 2 * k));
    r.m = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sb, 4), m4));
    r.d = _mm512_set1_ps(f16(w + 80));
    r.dmin = _mm512_set1_ps(f16(w + 82));
    return r;
  }
  static KQ_AI void dot(__m512& acc, const W& w, const A& a) {
    __m512i s = _mm512_madd_epi16(_mm512_maddubs_epi16(w.u[0], a.y[0]), w.s[0]);
    s = dot_s16<V>(s, _mm512_maddubs_epi16(w.u[1], a.y[1]), w.s[1]);
    s = dot_s16<V>(s, _mm512_maddubs_epi16(w.u[2], a.y[2]), w.s[2]);
    s = dot_s16<V>(s, _mm512_maddubs_epi16(w.u[3], a.y[3]), w.s[3]);
    const __m256i mins = _mm256_madd_epi16(w.m, a.bs);
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(w.d, a.dy), acc);
    acc = _mm512_mask3_fnmadd_ps(_mm512_zextps256_ps512(_mm256_cvtepi32_ps(mins)), _mm512_mul_ps(w.dmin, a.dy), acc,
                                 0x00FF);
  }
};

// The 16 IQ4 levels (kIq4nlValues) in every 128-bit lane as absolute values (indices 0-7 are the
// negative ones) ...
KQ_AI __m512i iq4_abs_table() {
  return _mm512_broadcast_i32x4(_mm_setr_epi8(127, 104, 83, 65, 49, 35, 22, 10, 1, 13, 25, 38, 53, 69, 89, 113));
}
// ... and offset by +128 (unsigned), for dpbusd.
KQ_AI __m512i iq4_u_table() {
  return _mm512_broadcast_i32x4(
      _mm_setr_epi8(1, 24, 45, 63, 79, 93, 106, 118, char(129), char(141), char(153), char(166), char(181), char(197),
                    char(217), char(241)));
}

// IQ4_XS: d, scales_h (u16), scales_l[4], qs[128]. Sub-block ib (32 elements): qs[16ib..] low
// nibbles then high nibbles, scale (6 bits) - 32. Two 64-byte loads give the low nibbles of
// sub-blocks 0-3 (one per 128-bit lane), their high nibbles, then 4-7; the activations are
// permuted to match once per token. Sign transfer: |v|·(±y) pairs stay in int16.
template <bool V>
struct KIQ4XS {
  static constexpr int64_t kStep = 256;
  static constexpr size_t kWStep = 136, kAStep = 292;
  struct A {
    __m512i y[4];  // elements 0-15 of sub-blocks 0-3, 16-31 of 0-3, then the same for 4-7
    __m512 dy;
  };
  struct W {
    __m512i av[4], s[2];
    __mmask64 neg[4];
    __m512 d;
  };
  template <bool Full>
  static KQ_AI A act(const uint8_t* a, int) {
    A r;
    const __m512i y0 = ld512(a + 4), y1 = ld512(a + 68), y2 = ld512(a + 132), y3 = ld512(a + 196);
    r.y[0] = _mm512_shuffle_i64x2(y0, y1, _MM_SHUFFLE(2, 0, 2, 0));
    r.y[1] = _mm512_shuffle_i64x2(y0, y1, _MM_SHUFFLE(3, 1, 3, 1));
    r.y[2] = _mm512_shuffle_i64x2(y2, y3, _MM_SHUFFLE(2, 0, 2, 0));
    r.y[3] = _mm512_shuffle_i64x2(y2, y3, _MM_SHUFFLE(3, 1, 3, 1));
    r.dy = _mm512_set1_ps(ld_f32(a));
    return r;
  }
  template <bool Full>
  static KQ_AI W wts(const uint8_t* w, int) {
    W r;
    const __m512i m4 = _mm512_set1_epi8(0x0F), tabs = iq4_abs_table(), eight = _mm512_set1_epi8(8);
    const __m512i q0 = ld512(w + 8), q1 = ld512(w + 72);
    const __m512i idx[4] = {_mm512_and_si512(q0, m4), _mm512_and_si512(_mm512_srli_epi16(q0, 4), m4),
                            _mm512_and_si512(q1, m4), _mm512_and_si512(_mm512_srli_epi16(q1, 4), m4)};
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      r.av[k] = _mm512_shuffle_epi8(tabs, idx[k]);
      r.neg[k] = _mm512_cmplt_epu8_mask(idx[k], eight);
    }
    // Scales: low nibbles from scales_l (two per byte), 2 high bits each from scales_h; as int16
    // per 128-bit lane: sub-blocks 0-3 (s[0]) and 4-7 (s[1]).
    const uint32_t sl = ld_u32(w + 4);
    const __m128i lo = _mm_unpacklo_epi8(_mm_cvtsi32_si128(int(sl & 0x0F0F0F0Fu)),
                                         _mm_cvtsi32_si128(int((sl >> 4) & 0x0F0F0F0Fu)));
    const __m128i hi = _mm_and_si128(_mm_srlv_epi16(_mm_set1_epi16(short(ld_u16(w + 2))),
                                                    _mm_setr_epi16(0, 2, 4, 6, 8, 10, 12, 14)),
                                     _mm_set1_epi16(3));
    const __m128i ls = _mm_sub_epi16(_mm_or_si128(_mm_cvtepu8_epi16(lo), _mm_slli_epi16(hi, 4)), _mm_set1_epi16(32));
    const __m512i b = _mm512_broadcast_i32x4(ls);
    const auto words = [](int j) { return _mm_set1_epi16(short((2 * j) | ((2 * j + 1) << 8))); };
    const auto ctrl = [&](int j0) {
      return _mm512_inserti64x4(
          _mm512_castsi256_si512(_mm256_inserti128_si256(_mm256_castsi128_si256(words(j0)), words(j0 + 1), 1)),
          _mm256_inserti128_si256(_mm256_castsi128_si256(words(j0 + 2)), words(j0 + 3), 1), 1);
    };
    r.s[0] = _mm512_shuffle_epi8(b, ctrl(0));
    r.s[1] = _mm512_shuffle_epi8(b, ctrl(4));
    r.d = _mm512_set1_ps(f16(w));
    return r;
  }
  static KQ_AI void dot(__m512& acc, const W& w, const A& a) {
    __m512i s = _mm512_madd_epi16(_mm512_maddubs_epi16(w.av[0], sign_to(a.y[0], w.neg[0])), w.s[0]);
    s = dot_s16<V>(s, _mm512_maddubs_epi16(w.av[1], sign_to(a.y[1], w.neg[1])), w.s[0]);
    s = dot_s16<V>(s, _mm512_maddubs_epi16(w.av[2], sign_to(a.y[2], w.neg[2])), w.s[1]);
    s = dot_s16<V>(s, _mm512_maddubs_epi16(w.av[3], sign_to(a.y[3], w.neg[3])), w.s[1]);
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(w.d, a.dy), acc);
  }
};

// ---------------------------------------------------------------------------------------------
// 32-element blocks, four per step (128 elements); a partial step holds 1-3: the missing blocks
// repeat block 0 with zero scales. Activations Q8_0 (d, qs[32]) or Q8_1 (d, s, qs[32]). Each
// zmm covers two blocks (lanes 0-7 and 8-15), scaled by [d·dy of the first ×8, of the second ×8].

// The f16 at p + j·kStride for j < n (zero for j >= n) as four floats; the scalar loads run on
// the integer ports, one vcvtph2ps converts all four.
template <int kStride, int n>
KQ_AI __m128 f16x4(const uint8_t* p) {
  uint64_t h = ld_u16(p);
  if constexpr (n > 1) h |= uint64_t(ld_u16(p + kStride)) << 16;
  if constexpr (n > 2) h |= uint64_t(ld_u16(p + 2 * kStride)) << 32;
  if constexpr (n > 3) h |= uint64_t(ld_u16(p + 3 * kStride)) << 48;
  return _mm_cvtph_ps(_mm_cvtsi64_si128(int64_t(h)));
}
template <int kStride>
KQ_AI __m128 f16x4(const uint8_t* p, int n) {
  switch (n) {
    case 1: return f16x4<kStride, 1>(p);
    case 2: return f16x4<kStride, 2>(p);
    case 3: return f16x4<kStride, 3>(p);
    default: return f16x4<kStride, 4>(p);
  }
}
// [f0 ×8, f1 ×8] and [f2 ×8, f3 ×8] from four floats (in-lane permutes of a broadcast).
KQ_AI void halves4(__m128 f, __m512& h01, __m512& h23) {
  const __m512 b = _mm512_broadcast_f32x4(f);
  h01 = _mm512_permutevar_ps(b, _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0));
  h23 = _mm512_permutevar_ps(b, _mm512_set_epi32(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2));
}
// Blocks present in a step of `rem` elements (4 when Full).
template <bool Full>
KQ_AI int blocks_in(int rem) {
  return Full ? 4 : rem / 32;
}
// Pointer to block j of a step with nb blocks of kB bytes (block 0 again when j >= nb).
template <int kB>
KQ_AI const uint8_t* blk(const uint8_t* p, int j, int nb) {
  return j < nb ? p + j * kB : p;
}

// [f0 ×4, f1 ×4, f2 ×4, f3 ×4]: one float per 128-bit lane.
KQ_AI __m512 quads4(__m128 f) {
  return _mm512_permutevar_ps(_mm512_broadcast_f32x4(f),
                              _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0));
}

// Activation step. Split layout (nibble weights): y[0] = elements 0-15 of blocks 0-3 (one block
// per 128-bit lane), y[1] = elements 16-31, dy[0] = dy[1] = the scales as quads (KQ8_0 builds its
// natural-layout Q8_0H steps itself). nc = -o·Σy per dpbusd lane (o the weight offset; zero when
// unused); s4 = the Q8_1 sums (zero for Q8_0).
struct ActL {
  __m512i y[2], nc[2];
  __m512 dy[2];
  __m128 s4;
};
template <bool V, bool Full, int kAB, int kAQ, int kOffset, bool kSum>
KQ_AI ActL act_l(const uint8_t* a, int rem) {
  ActL r;
  const int nb = blocks_in<Full>(rem);
  const __m512i y01 = join256(a + kAQ, blk<kAB>(a, 1, nb) + kAQ);
  const __m512i y23 = join256(blk<kAB>(a, 2, nb) + kAQ, blk<kAB>(a, 3, nb) + kAQ);
  const __m128 d4 = Full ? f16x4<kAB, 4>(a) : f16x4<kAB>(a, nb);
  r.y[0] = _mm512_shuffle_i64x2(y01, y23, _MM_SHUFFLE(2, 0, 2, 0));
  r.y[1] = _mm512_shuffle_i64x2(y01, y23, _MM_SHUFFLE(3, 1, 3, 1));
  r.dy[0] = r.dy[1] = quads4(d4);
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    if constexpr (kOffset != 0)
      r.nc[h] = _mm512_sub_epi32(_mm512_setzero_si512(),
                                 dot_u8s8<V>(_mm512_setzero_si512(), _mm512_set1_epi8(char(kOffset)), r.y[h]));
    else
      r.nc[h] = _mm512_setzero_si512();
  }
  if constexpr (kSum)
    r.s4 = Full ? f16x4<kAB, 4>(a + 2) : f16x4<kAB>(a + 2, nb);
  else
    r.s4 = _mm_setzero_ps();
  return r;
}

// Weight step: u = 64 values per zmm in the activation's layout (unsigned levels, or |levels|
// with neg the sign bytes), d = the scales (quads: d[0] only; halves: d[0], d[1]), m4 the
// Q4_1 / Q5_1 mins.
struct WL {
  __m512i u[2];
  __mmask64 neg[2];
  __m512 d[2];
  __m128 m4;
};
// The 16 qs bytes of blocks 0-3 (offset kQ in blocks of kWB bytes), one per 128-bit lane.
template <int kWB, int kQ>
KQ_AI __m512i qs4(const uint8_t* w, int nb) {
  const __m256i q01 = _mm256_inserti128_si256(_mm256_castsi128_si256(ld128(w + kQ)), ld128(blk<kWB>(w, 1, nb) + kQ), 1);
  const __m256i q23 =
      _mm256_inserti128_si256(_mm256_castsi128_si256(ld128(blk<kWB>(w, 2, nb) + kQ)), ld128(blk<kWB>(w, 3, nb) + kQ), 1);
  return _mm512_inserti64x4(_mm512_castsi256_si512(q01), q23, 1);
}
// Split-layout nibbles of four blocks: u[0] low nibbles (elements 0-15), u[1] high (16-31); with
// kH >= 0 the 5th bits from each block's qh (bit e = element e) added as 16.
template <int kWB, int kQ, int kH>
KQ_AI void unpack_nib4(WL& r, const uint8_t* w, int nb) {
  const __m512i q = qs4<kWB, kQ>(w, nb), m4 = _mm512_set1_epi8(0x0F);
  r.u[0] = _mm512_and_si512(q, m4);
  r.u[1] = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
  r.neg[0] = r.neg[1] = 0;
  if constexpr (kH >= 0) {
    uint64_t lo = 0, hi = 0;
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      const uint64_t h = ld_u32(blk<kWB>(w, j, nb) + kH);
      lo |= (h & 0xFFFF) << (16 * j);
      hi |= (h >> 16) << (16 * j);
    }
    const __m512i b4 = _mm512_set1_epi8(16);
    r.u[0] = _mm512_mask_add_epi8(r.u[0], _cvtu64_mask64(lo), r.u[0], b4);
    r.u[1] = _mm512_mask_add_epi8(r.u[1], _cvtu64_mask64(hi), r.u[1], b4);
  }
}
template <bool Full, int kWB>
KQ_AI __m128 d4_of(const uint8_t* w, int nb, int off = 0) {
  return Full ? f16x4<kWB, 4>(w + off) : f16x4<kWB>(w + off, nb);
}

// Σ(u-o)·y = dpbusd(-o·Σy, u, y) (VNNI: Q8_0 / IQ4_NL use o = 128), or without VNNI for the
// signed kinds (Q8_0 / IQ4_NL) the sign transfer |x|·(±y). Split layout: one scale product.
template <bool V, bool kSigned, bool kSplit>
KQ_AI void dot_l(__m512& acc, const WL& w, const ActL& a) {
  const __m512 dd0 = _mm512_mul_ps(w.d[0], a.dy[0]);
  const __m512 dd1 = kSplit ? dd0 : _mm512_mul_ps(w.d[1], a.dy[1]);
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    __m512i p;
    if constexpr (kSigned && !V)
      p = dot_u8s8<V>(_mm512_setzero_si512(), w.u[h], sign_to(a.y[h], w.neg[h]));
    else
      p = dot_u8s8<V>(a.nc[h], w.u[h], a.y[h]);
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), h == 0 ? dd0 : dd1, acc);
  }
}

// Q4_0 (d, qs[16]; levels u - 8) and Q5_0 (d, qh[4], qs[16]; levels u - 16): Q8_0 activations.
template <bool V, int kWB, int kQ, int kH, int kOffset>
struct KQx0 {
  static constexpr int64_t kStep = 128;
  static constexpr size_t kWStep = 4 * kWB, kAStep = 136;
  using A = ActL;
  using W = WL;
  template <bool Full>
  static KQ_AI A act(const uint8_t* a, int rem) {
    return act_l<V, Full, 34, 2, kOffset, false>(a, rem);
  }
  template <bool Full>
  static KQ_AI W wts(const uint8_t* w, int rem) {
    W r;
    const int nb = blocks_in<Full>(rem);
    unpack_nib4<kWB, kQ, kH>(r, w, nb);
    r.d[0] = r.d[1] = quads4(d4_of<Full, kWB>(w, nb));
    r.m4 = _mm_setzero_ps();
    return r;
  }
  static KQ_AI void dot(__m512& acc, const W& w, const A& a) { dot_l<V, false, true>(acc, w, a); }
};
template <bool V>
using KQ4_0 = KQx0<V, 18, 2, -1, 8>;
template <bool V>
using KQ5_0 = KQx0<V, 22, 6, 2, 16>;

// Q4_1 (d, m, qs[16]) and Q5_1 (d, m, qh[4], qs[16]) with Q8_1 activations: d·dy·Σu·y + m·s, the
// m·s terms in their own 4 lanes.
template <bool V, int kWB, int kQ, int kH>
struct KQx1 {
  static constexpr int64_t kStep = 128;
  static constexpr size_t kWStep = 4 * kWB, kAStep = 144;
  using Acc = AccZX;
  using A = ActL;
  using W = WL;
  template <bool Full>
  static KQ_AI A act(const uint8_t* a, int rem) {
    return act_l<V, Full, 36, 4, 0, true>(a, rem);
  }
  template <bool Full>
  static KQ_AI W wts(const uint8_t* w, int rem) {
    W r;
    const int nb = blocks_in<Full>(rem);
    unpack_nib4<kWB, kQ, kH>(r, w, nb);
    r.d[0] = r.d[1] = quads4(d4_of<Full, kWB>(w, nb));
    r.m4 = d4_of<Full, kWB>(w, nb, 2);
    return r;
  }
  static KQ_AI void dot(Acc& acc, const W& w, const A& a) {
    dot_l<V, false, true>(acc.a, w, a);
    acc.m = _mm_fmadd_ps(w.m4, a.s4, acc.m);
  }
};
template <bool V>
using KQ4_1 = KQx1<V, 20, 4, -1>;
template <bool V>
using KQ5_1 = KQx1<V, 24, 8, 4>;

// Q8_0 weights (d, qs[32]) · Q8_0H activations (d[2], qs[32]): each zmm holds two blocks, dpbusd
// lanes 0-3 / 4-7 the first block's halves, 8-11 / 12-15 the second's, so the activation scales
// are quads [h0, h1, h0', h1'] and the weight scales halves. VNNI: Σxy = dpbusd(-128Σy, x+128, y)
// (exact for any int8); BW: |x|·(±y).
template <bool V>
struct KQ8_0 {
  static constexpr int64_t kStep = 128;
  static constexpr size_t kWStep = 136, kAStep = 144;
  using A = ActL;
  using W = WL;
  // The two f16 scales of activation blocks j and j+1 (zero for blocks at or past nb) as quads.
  static KQ_AI __m512 dy_pair(const uint8_t* a, int j, int nb) {
    const uint64_t lo = j < nb ? ld_u32(a + 36 * j) : 0, hi = j + 1 < nb ? ld_u32(a + 36 * (j + 1)) : 0;
    return quads4(_mm_cvtph_ps(_mm_cvtsi64_si128(int64_t(lo | (hi << 32)))));
  }
  template <bool Full>
  static KQ_AI A act(const uint8_t* a, int rem) {
    A r;
    const int nb = blocks_in<Full>(rem);
    r.y[0] = join256(a + 4, blk<36>(a, 1, nb) + 4);
    r.y[1] = join256(blk<36>(a, 2, nb) + 4, blk<36>(a, 3, nb) + 4);
    r.dy[0] = dy_pair(a, 0, nb);
    r.dy[1] = dy_pair(a, 2, nb);
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      if constexpr (V)
        r.nc[h] = _mm512_sub_epi32(_mm512_setzero_si512(),
                                   dot_u8s8<V>(_mm512_setzero_si512(), _mm512_set1_epi8(char(128)), r.y[h]));
      else
        r.nc[h] = _mm512_setzero_si512();
    }
    r.s4 = _mm_setzero_ps();
    return r;
  }
  template <bool Full>
  static KQ_AI W wts(const uint8_t* w, int rem) {
    W r;
    const int nb = blocks_in<Full>(rem);
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      const __m512i x = join256(blk<34>(w, 2 * h, nb) + 2, blk<34>(w, 2 * h + 1, nb) + 2);
      if constexpr (V) {
        r.u[h] = _mm512_xor_si512(x, _mm512_set1_epi8(char(0x80)));
        r.neg[h] = 0;
      } else {
        r.u[h] = _mm512_abs_epi8(x);
        r.neg[h] = _mm512_movepi8_mask(x);
      }
    }
    halves4(d4_of<Full, 34>(w, nb), r.d[0], r.d[1]);
    r.m4 = _mm_setzero_ps();
    return r;
  }
  static KQ_AI void dot(__m512& acc, const W& w, const A& a) { dot_l<V, true, false>(acc, w, a); }
};

// IQ4_NL: d, qs[16] (Q4_0 placement) indexing the IQ4 levels; Q8_0 activations.
template <bool V>
struct KIQ4NL {
  static constexpr int64_t kStep = 128;
  static constexpr size_t kWStep = 72, kAStep = 136;
  using A = ActL;
  using W = WL;
  template <bool Full>
  static KQ_AI A act(const uint8_t* a, int rem) {
    return act_l<V, Full, 34, 2, (V ? 128 : 0), false>(a, rem);
  }
  template <bool Full>
  static KQ_AI W wts(const uint8_t* w, int rem) {
    W r;
    const int nb = blocks_in<Full>(rem);
    unpack_nib4<18, 2, -1>(r, w, nb);
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      if constexpr (V) {
        r.u[h] = _mm512_shuffle_epi8(iq4_u_table(), r.u[h]);
      } else {
        r.neg[h] = _mm512_cmplt_epu8_mask(r.u[h], _mm512_set1_epi8(8));
        r.u[h] = _mm512_shuffle_epi8(iq4_abs_table(), r.u[h]);
      }
    }
    r.d[0] = r.d[1] = quads4(d4_of<Full, 18>(w, nb));
    r.m4 = _mm_setzero_ps();
    return r;
  }
  static KQ_AI void dot(__m512& acc, const W& w, const A& a) { dot_l<V, true, true>(acc, w, a); }
};

// ---------------------------------------------------------------------------------------------
// Float weights, 128 elements per step (a partial step loads the rest under masks, zeros beyond).
// Lanes of sub-vector i (16 elements) present in a step of rem elements.
KQ_AI __mmask16 mask16(int rem, int i) {
  const int n = rem - 16 * i;
  return n >= 16 ? __mmask16(0xFFFF) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}
struct F8 {
  __m512 v[8];
};
KQ_AI __m512 bf16_to_f32(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }
// Kind 0: f32, 1: f16, 2: bf16.
template <int kKind, bool Full>
KQ_AI F8 load_f8(const uint8_t* p, int rem) {
  F8 r;
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    if constexpr (kKind == 0) {
      const float* f = reinterpret_cast<const float*>(p) + 16 * i;
      r.v[i] = Full ? _mm512_loadu_ps(f) : _mm512_maskz_loadu_ps(mask16(rem, i), f);
    } else {
      const __m256i h = Full ? ld256(p + 32 * i) : _mm256_maskz_loadu_epi16(mask16(rem, i), p + 32 * i);
      r.v[i] = kKind == 1 ? _mm512_cvtph_ps(h) : bf16_to_f32(h);
    }
  }
  return r;
}
// Weight kind kKind (0: f32, 1: f16, 2: bf16, widened exactly) against f32 activations. The
// arithmetic every float kernel shares (decode here, the prefill GEMM in gemm_float_avx512.cpp and
// both AVX2 forms): 16 f32 lanes, lane j an FMA chain over elements j, j+16, j+32, ... in order,
// then hsum's fixed tree. So a (row, token) result does not depend on the batch, the tile or the
// kernel that computed it.
template <int kKind>
struct KFloat {
  static constexpr int64_t kStep = 128;
  static constexpr size_t kWStep = kKind == 0 ? 512 : 256, kAStep = 512;
  using A = F8;
  using W = F8;
  template <bool Full>
  static KQ_AI A act(const uint8_t* a, int rem) {
    return load_f8<0, Full>(a, rem);
  }
  template <bool Full>
  static KQ_AI W wts(const uint8_t* w, int rem) {
    return load_f8<kKind, Full>(w, rem);
  }
  static KQ_AI void dot(__m512& acc, const W& w, const A& a) {
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) acc = _mm512_fmadd_ps(w.v[i], a.v[i], acc);
  }
};
using KF32 = KFloat<0>;
using KF16 = KFloat<1>;
using KBF16 = KFloat<2>;

// ---------------------------------------------------------------------------------------------
// Drivers.

// Accumulators: a plain 16-lane __m512, or the kernel's own Acc (extra lanes for min terms).
template <class K, class = void>
struct AccOf {
  using type = __m512;
};
template <class K>
struct AccOf<K, std::void_t<typename K::Acc>> {
  using type = typename K::Acc;
};
KQ_AI void acc_zero(__m512& a) { a = _mm512_setzero_ps(); }
KQ_AI void acc_zero(AccZX& a) {
  a.a = _mm512_setzero_ps();
  a.m = _mm_setzero_ps();
}
KQ_AI float acc_sum(const __m512& a) { return hsum(a); }
KQ_AI float acc_sum(const AccZX& a) {
  __m128 m = _mm_add_ps(a.m, _mm_movehl_ps(a.m, a.m));
  m = _mm_add_ss(m, _mm_movehdup_ps(m));
  return hsum(a.a) + _mm_cvtss_f32(m);
}

// R weight rows (w, stride ws) × T activation rows (a, stride as), rows of k elements:
// y[t·ldy + r] = row r · token t. pf (or null): the next tile's weight rows, prefetched into L2 as
// one sequential stream, pf_step bytes per step, while this tile computes. (The hardware
// prefetchers follow one stream well but R interleaved row streams poorly: measured on Zen 4,
// 8 rows cold ran at ~2/3 of one row's speed without this.)
template <class K, int R, int T>
__attribute__((noinline)) void tile(const uint8_t* w, size_t ws, const uint8_t* a, size_t as, int64_t k, float* y,
                                    size_t ldy, const uint8_t* pf, size_t pf_step) {
  typename AccOf<K>::type acc[R][T];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) acc_zero(acc[r][t]);
  const int64_t ns = k / K::kStep;
  const int rem = int(k % K::kStep);
  for (int64_t s = 0; s < ns; ++s) {
    const uint8_t* ws_p = w + size_t(s) * K::kWStep;
    const uint8_t* as_p = a + size_t(s) * K::kAStep;
    typename K::A at[T];
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) at[t] = K::template act<true>(as_p + size_t(t) * as, int(K::kStep));
    if (pf) {
      for (size_t o = 0; o < pf_step; o += 64) _mm_prefetch(reinterpret_cast<const char*>(pf + o), _MM_HINT_T1);
      pf += pf_step;
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const typename K::W wr = K::template wts<true>(ws_p + size_t(r) * ws, int(K::kStep));
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) K::dot(acc[r][t], wr, at[t]);
    }
  }
  if (rem != 0) {
    const uint8_t* ws_p = w + size_t(ns) * K::kWStep;
    const uint8_t* as_p = a + size_t(ns) * K::kAStep;
    typename K::A at[T];
    for (int t = 0; t < T; ++t) at[t] = K::template act<false>(as_p + size_t(t) * as, rem);
    for (int r = 0; r < R; ++r) {
      const typename K::W wr = K::template wts<false>(ws_p + size_t(r) * ws, rem);
      for (int t = 0; t < T; ++t) K::dot(acc[r][t], wr, at[t]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) y[size_t(t) * ldy + size_t(r)] = acc_sum(acc[r][t]);
}

template <class K, int R>
KQ_AI void tile_tokens(int nt, const uint8_t* w, size_t ws, const uint8_t* a, size_t as, int64_t k, float* y,
                       size_t ldy, const uint8_t* pf, size_t pf_step) {
  switch (nt) {
    case 1: tile<K, R, 1>(w, ws, a, as, k, y, ldy, pf, pf_step); break;
    case 2: tile<K, R, 2>(w, ws, a, as, k, y, ldy, pf, pf_step); break;
    case 3: tile<K, R, 3>(w, ws, a, as, k, y, ldy, pf, pf_step); break;
    default: tile<K, R, 4>(w, ws, a, as, k, y, ldy, pf, pf_step); break;
  }
}

// Decode path: tiles of 8 rows for one token, else 4 rows × groups of up to 4 tokens (the rows'
// weights stay in cache across the groups); remaining rows 4 and then 1 at a time, with the same
// per-row arithmetic. The first token group of each tile prefetches the next tile's rows.
template <class K>
void mul_rows(const MatmulTile& t) {
  constexpr int kToks = 4;
  const int kRows = t.n_tok == 1 ? kRowsOneToken : 4;
  const int64_t steps = (t.k + K::kStep - 1) / K::kStep;
  for (int64_t r0 = 0; r0 < t.n_rows; r0 += kRows) {
    const int64_t nr = t.n_rows - r0 < kRows ? t.n_rows - r0 : kRows;
    const uint8_t* w = t.w + size_t(r0) * t.w_stride;
    // The next tile: rows r0+kRows.. (as many as there are), spread over this tile's steps.
    const int64_t next = t.n_rows - (r0 + kRows) < kRows ? t.n_rows - (r0 + kRows) : kRows;
    const uint8_t* pf = next > 0 && steps > 0 ? w + size_t(kRows) * t.w_stride : nullptr;
    const size_t pf_step = pf ? (size_t(next) * t.w_stride / size_t(steps) + 63) / 64 * 64 : 0;
    for (int t0 = 0; t0 < t.n_tok; t0 += kToks) {
      const int nt = t.n_tok - t0 < kToks ? t.n_tok - t0 : kToks;
      const uint8_t* a = t.act + size_t(t0) * t.act_stride;
      float* y = t.y + size_t(t0) * t.ldy + size_t(r0);
      const uint8_t* p = t0 == 0 ? pf : nullptr;
      if (nr == 8) {  // kRows == 8: one token
        tile<K, 8, 1>(w, t.w_stride, a, t.act_stride, t.k, y, t.ldy, p, pf_step);
        continue;
      }
      int64_t r = 0;
      for (; r + 4 <= nr; r += 4)
        tile_tokens<K, 4>(nt, w + size_t(r) * t.w_stride, t.w_stride, a, t.act_stride, t.k, y + r, t.ldy,
                          r == 0 ? p : nullptr, pf_step);
      for (; r < nr; ++r)
        tile_tokens<K, 1>(nt, w + size_t(r) * t.w_stride, t.w_stride, a, t.act_stride, t.k, y + r, t.ldy, nullptr, 0);
    }
  }
}

template <class K>
float vec_dot(int64_t n, const void* x, const void* y) {
  float out;
  tile<K, 1, 1>(static_cast<const uint8_t*>(x), 0, static_cast<const uint8_t*>(y), 0, n, &out, 0, nullptr, 0);
  return out;
}

template <class K>
void install(KernelTable& t, QType type, const char* name) {
  TypeKernels& k = t[type];
  k.vec_dot = vec_dot<K>;
  k.mul_rows = mul_rows<K>;
  k.name = name;
}

// The integer-quant types at one level (V = VNNI or not).
template <bool V>
void install_quants(KernelTable& t, const char* name) {
  install<KQ4_0<V>>(t, QType::Q4_0, name);
  install<KQ4_1<V>>(t, QType::Q4_1, name);
  install<KQ5_0<V>>(t, QType::Q5_0, name);
  install<KQ5_1<V>>(t, QType::Q5_1, name);
  install<KQ8_0<V>>(t, QType::Q8_0, name);
  install<KQ2K<V>>(t, QType::Q2_K, name);
  install<KQ3K<V>>(t, QType::Q3_K, name);
  install<KQ4K<V>>(t, QType::Q4_K, name);
  install<KQ5K<V>>(t, QType::Q5_K, name);
  install<KQ6K<V>>(t, QType::Q6_K, name);
  install<KIQ4NL<V>>(t, QType::IQ4_NL, name);
  install<KIQ4XS<V>>(t, QType::IQ4_XS, name);
}

#undef KQ_AI

}  // namespace avx512
}  // namespace
}  // namespace kq
