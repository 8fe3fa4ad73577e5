// AVX2 unpacking of weight blocks into gemm_pack.h's levels (include only from files built with AVX2 + F16C).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "quant/gemm_pack.h"

namespace kq::gemm {

inline __m256i low_nibbles(__m256i q) { return _mm256_and_si256(q, _mm256_set1_epi8(0x0F)); }
inline __m256i high_nibbles(__m256i q) { return _mm256_and_si256(_mm256_srli_epi16(q, 4), _mm256_set1_epi8(0x0F)); }
inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline void store256(void* p, __m256i v) { _mm256_storeu_si256(static_cast<__m256i*>(p), v); }

inline void unpack_super_fast(const BlockQ4K& b, SuperLevels& out) {
  for (int c = 0; c < 4; ++c) {
    const __m256i q = load256(b.qs + 32 * c);
    store256(out.w + 64 * c, low_nibbles(q));
    store256(out.w + 64 * c + 32, high_nibbles(q));
  }
  scales_mins_k4(b.scales, out);
  out.d = _cvtsh_ss(b.d);
  out.dmin = _cvtsh_ss(b.dmin);
}

inline void unpack_super_fast(const BlockQ6K& b, SuperLevels& out) {
  const __m256i m30 = _mm256_set1_epi8(0x30), off = _mm256_set1_epi8(32);
  for (int h = 0; h < 2; ++h) {
    const __m256i ql0 = load256(b.ql + 64 * h), ql1 = load256(b.ql + 64 * h + 32), qh = load256(b.qh + 32 * h);
    // Element 128h + 32k + l: low nibble of ql0/ql1 (k = 0, 1) or high nibble (k = 2, 3), bits 2k.. of qh on top.
    const __m256i hi0 = _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30);
    const __m256i hi1 = _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30);
    const __m256i hi2 = _mm256_and_si256(qh, m30);
    const __m256i hi3 = _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30);
    int8_t* w = out.w + 128 * h;
    store256(w, _mm256_sub_epi8(_mm256_or_si256(low_nibbles(ql0), hi0), off));
    store256(w + 32, _mm256_sub_epi8(_mm256_or_si256(low_nibbles(ql1), hi1), off));
    store256(w + 64, _mm256_sub_epi8(_mm256_or_si256(high_nibbles(ql0), hi2), off));
    store256(w + 96, _mm256_sub_epi8(_mm256_or_si256(high_nibbles(ql1), hi3), off));
  }
  const __m128i sc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales));
  store256(out.sc, _mm256_cvtepi8_epi32(sc));
  store256(out.sc + 8, _mm256_cvtepi8_epi32(_mm_srli_si128(sc, 8)));
  out.d = _cvtsh_ss(b.d);
}

// +value where bit `bit` of bits[l] is set, for the 32 bytes l of one bit plane.
inline __m256i plane_bits(__m256i bits, int bit, char value) {
  const __m256i mask = _mm256_set1_epi8(char(1 << bit));
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(bits, mask), mask), _mm256_set1_epi8(value));
}

inline void unpack_super_fast(const BlockQ5K& b, SuperLevels& out) {
  const __m256i qh = load256(b.qh);
  for (int c = 0; c < 4; ++c) {
    const __m256i q = load256(b.qs + 32 * c);
    store256(out.w + 64 * c, _mm256_add_epi8(low_nibbles(q), plane_bits(qh, 2 * c, 16)));
    store256(out.w + 64 * c + 32, _mm256_add_epi8(high_nibbles(q), plane_bits(qh, 2 * c + 1, 16)));
  }
  scales_mins_k4(b.scales, out);
  out.d = _cvtsh_ss(b.d);
  out.dmin = _cvtsh_ss(b.dmin);
}

// Q2_K / Q3_K 2-bit levels of element 128h + 32s + l.
inline __m256i two_bits(__m256i q, int s) {
  return _mm256_and_si256(_mm256_srli_epi16(q, 2 * s), _mm256_set1_epi8(3));
}

inline void unpack_super_fast(const BlockQ2K& b, SuperLevels& out) {
  for (int h = 0; h < 2; ++h) {
    const __m256i q = load256(b.qs + 32 * h);
    for (int s = 0; s < 4; ++s) store256(out.w + 128 * h + 32 * s, two_bits(q, s));
  }
  for (int j = 0; j < 16; ++j) {
    out.sc[j] = b.scales[j] & 0x0F;
    out.m[j] = int16_t(b.scales[j] >> 4);
  }
  out.d = _cvtsh_ss(b.d);
  out.dmin = _cvtsh_ss(b.dmin);
}

inline void unpack_super_fast(const BlockQ3K& b, SuperLevels& out) {
  const __m256i hmask = load256(b.hmask);
  const __m256i four = _mm256_set1_epi8(4);
  for (int h = 0; h < 2; ++h) {
    const __m256i q = load256(b.qs + 32 * h);
    for (int s = 0; s < 4; ++s) {
      const __m256i lo = _mm256_sub_epi8(two_bits(q, s), four);  // a set hmask bit means "no −4"
      store256(out.w + 128 * h + 32 * s, _mm256_add_epi8(lo, plane_bits(hmask, 4 * h + s, 4)));
    }
  }
  for (int j = 0; j < 16; ++j) out.sc[j] = get_scale_q3k(j, b.scales) - 32;
  out.d = _cvtsh_ss(b.d);
}

inline __m256i iq4_table() {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
}

inline void unpack_super_fast(const BlockIQ4XS& b, SuperLevels& out) {
  const __m256i table = iq4_table();
  for (int p = 0; p < 4; ++p) {
    // 32 bytes = sub-blocks 2p and 2p+1 (16 bytes each): low nibbles are elements 0..15, high 16..31.
    const __m256i q = load256(b.qs + 32 * p);
    const __m256i lo = _mm256_shuffle_epi8(table, low_nibbles(q));
    const __m256i hi = _mm256_shuffle_epi8(table, high_nibbles(q));
    store256(out.w + 64 * p, _mm256_permute2x128_si256(lo, hi, 0x20));
    store256(out.w + 64 * p + 32, _mm256_permute2x128_si256(lo, hi, 0x31));
  }
  for (int ib = 0; ib < 8; ++ib) {
    const int low = (b.scales_l[ib / 2] >> (4 * (ib % 2))) & 0x0F;
    const int high = (b.scales_h >> (2 * ib)) & 3;
    out.sc[ib] = (low | (high << 4)) - 32;
  }
  out.d = _cvtsh_ss(b.d);
}

// Legacy nibbles as 32 bytes: element j = lo(qs[j]), element j+16 = hi(qs[j]).
inline __m256i legacy_nibbles(const uint8_t* qs) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i lo = _mm_and_si128(q, _mm_set1_epi8(0x0F));
  const __m128i hi = _mm_and_si128(_mm_srli_epi16(q, 4), _mm_set1_epi8(0x0F));
  return _mm256_set_m128i(hi, lo);
}

// 16 where bit e of the little-endian u32 qh is set, for the 32 elements e.
inline __m256i fifth_bit(const uint8_t* qh) {
  int32_t bits;
  std::memcpy(&bits, qh, 4);
  // Byte e takes byte e/8 of the word, then tests bit e%8.
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(bits), _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3,
                                                3, 3, 3, 3, 3, 3));
  const __m256i bit = _mm256_set1_epi64x(int64_t(0x8040201008040201ull));
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), _mm256_set1_epi8(16));
}

inline void unpack_legacy_fast(const BlockQ4_0& b, LegacyLevels& out) {
  store256(out.w, _mm256_sub_epi8(legacy_nibbles(b.qs), _mm256_set1_epi8(8)));
  out.d = _cvtsh_ss(b.d);
}

inline void unpack_legacy_fast(const BlockQ4_1& b, LegacyLevels& out) {
  store256(out.w, legacy_nibbles(b.qs));
  out.d = _cvtsh_ss(b.d);
  out.m = _cvtsh_ss(b.m);
}

inline void unpack_legacy_fast(const BlockQ5_0& b, LegacyLevels& out) {
  const __m256i q = _mm256_add_epi8(legacy_nibbles(b.qs), fifth_bit(b.qh));
  store256(out.w, _mm256_sub_epi8(q, _mm256_set1_epi8(16)));
  out.d = _cvtsh_ss(b.d);
}

inline void unpack_legacy_fast(const BlockQ5_1& b, LegacyLevels& out) {
  store256(out.w, _mm256_add_epi8(legacy_nibbles(b.qs), fifth_bit(b.qh)));
  out.d = _cvtsh_ss(b.d);
  out.m = _cvtsh_ss(b.m);
}

inline void unpack_legacy_fast(const BlockIQ4NL& b, LegacyLevels& out) {
  const __m128i table = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues));
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs));
  const __m128i lo = _mm_shuffle_epi8(table, _mm_and_si128(q, _mm_set1_epi8(0x0F)));
  const __m128i hi = _mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(q, 4), _mm_set1_epi8(0x0F)));
  store256(out.w, _mm256_set_m128i(hi, lo));
  out.d = _cvtsh_ss(b.d);
}

inline void unpack_legacy_fast(const BlockQ8_0& b, LegacyLevels& out) {
  store256(out.w, load256(b.qs));
  out.d = _cvtsh_ss(b.d);
}

}  // namespace kq::gemm
