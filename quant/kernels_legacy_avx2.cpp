// AVX2 decode kernels for the 32-element block types: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and IQ4_NL.
//
// Integer sums are exact for every weight block and every activation in [-127, 127] (what the
// converters produce): unsigned levels go through maddubs directly and their offset (8 or 16) is
// taken off with a second maddubs of the activation; signed weights use the sign trick with the
// operand that cannot be -128 on the signed side.
#include "common/fp16.h"
#include "quant/iq4_common.h"
#include "quant/iq4_nl.h"
#include "quant/q4_0.h"
#include "quant/q4_1.h"
#include "quant/q5_0.h"
#include "quant/q5_1.h"
#include "quant/q8_0.h"
#include "quant/q8_0h.h"
#include "quant/q8_1.h"
#include "quant/simd_avx2.h"

namespace kq::avx2 {
namespace {

// Per (row, token) accumulator of Q4_1 / Q5_1: per-lane partial sums, and the min terms (the
// same value in every lane).
struct AccMin {
  __m256 v, m;
};

// An f16 scale in all 8 lanes (broadcast, then one conversion).
KQ_AVX2_INLINE __m256 f16x8(uint16_t h) { return _mm256_cvtph_ps(_mm_set1_epi16(short(h))); }

// Bit e of the 32-bit qh (byte e/8, bit e%8) -> 0x10 in byte e.
KQ_AVX2_INLINE __m256i q5_high_bits(const uint8_t* qh) {
  const __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(int(load_u32(qh))),
                                            _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                                             2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
  const __m256i bit = _mm256_set1_epi64x(int64_t(0x8040201008040201ull));
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit);
  return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

// Q8_0 activation for offset types: the values and k·Σ pairs (so levels q - k need no sign trick).
template <int kOffset>
struct ActQ8_0Offset {
  __m256i y;
  __m256i off;  // kOffset · (y[2i] + y[2i+1]) as int16
  __m256 d;
};
template <int kOffset>
KQ_AVX2_INLINE ActQ8_0Offset<kOffset> load_act_offset(const BlockQ8_0& b) {
  const __m256i y = load256(b.qs);
  return {y, _mm256_maddubs_epi16(_mm256_set1_epi8(kOffset), y), f16x8(b.d)};
}

struct LevelRow {
  __m256i q;  // 32 unsigned levels in element order
  __m256 d;
};

// Σ (q - offset)·y, exact: both maddubs results fit int16 and so does their difference.
template <int kOffset>
KQ_AVX2_INLINE void dot_offset(const LevelRow& w, const ActQ8_0Offset<kOffset>& a, __m256& acc) {
  const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(w.q, a.y), a.off);
  acc = _mm256_fmadd_ps(_mm256_mul_ps(w.d, a.d), _mm256_cvtepi32_ps(sum_pairs(p)), acc);
}

struct Q4_0K {
  using WBlock = BlockQ4_0;
  using ABlock = BlockQ8_0;
  static constexpr int kBlock = 32, kRows1 = 4, kRowsN = 2, kTail = 0, kTailWBytes = 0, kTailABytes = 0;
  using Row = LevelRow;
  using Act = ActQ8_0Offset<8>;
  using Acc = __m256;
  static KQ_AVX2_INLINE Row load_row(const WBlock& b) { return {nibbles_lo_hi(load128(b.qs)), f16x8(b.d)}; }
  static KQ_AVX2_INLINE Act load_act(const ABlock& b) { return load_act_offset<8>(b); }
  static KQ_AVX2_INLINE void dot(const Row& w, const Act& a, Acc& acc) { dot_offset(w, a, acc); }
  static KQ_AVX2_INLINE Acc zero() { return _mm256_setzero_ps(); }
  static KQ_AVX2_INLINE float finish(const Acc& acc) { return hsum(acc); }
};

struct Q5_0K {
  using WBlock = BlockQ5_0;
  using ABlock = BlockQ8_0;
  static constexpr int kBlock = 32, kRows1 = 4, kRowsN = 2, kTail = 0, kTailWBytes = 0, kTailABytes = 0;
  using Row = LevelRow;
  using Act = ActQ8_0Offset<16>;
  using Acc = __m256;
  static KQ_AVX2_INLINE Row load_row(const WBlock& b) {
    return {_mm256_or_si256(nibbles_lo_hi(load128(b.qs)), q5_high_bits(b.qh)), f16x8(b.d)};
  }
  static KQ_AVX2_INLINE Act load_act(const ABlock& b) { return load_act_offset<16>(b); }
  static KQ_AVX2_INLINE void dot(const Row& w, const Act& a, Acc& acc) { dot_offset(w, a, acc); }
  static KQ_AVX2_INLINE Acc zero() { return _mm256_setzero_ps(); }
  static KQ_AVX2_INLINE float finish(const Acc& acc) { return hsum(acc); }
};

// Q4_1 / Q5_1 against Q8_1: d_x·d_y·Σ q·y + m_x·s_y, the min term from the stored block sum s.
struct MinRow {
  __m256i q;
  __m256 d, m;
};
struct ActQ8_1 {
  __m256i y;
  __m256 d, s;
};
KQ_AVX2_INLINE ActQ8_1 load_act_q8_1(const BlockQ8_1& b) { return {load256(b.qs), f16x8(b.d), f16x8(b.s)}; }
KQ_AVX2_INLINE void dot_min(const MinRow& w, const ActQ8_1& a, AccMin& acc) {
  const __m256i s = sum_pairs(_mm256_maddubs_epi16(w.q, a.y));
  acc.v = _mm256_fmadd_ps(_mm256_mul_ps(w.d, a.d), _mm256_cvtepi32_ps(s), acc.v);
  acc.m = _mm256_fmadd_ps(w.m, a.s, acc.m);
}

struct Q4_1K {
  using WBlock = BlockQ4_1;
  using ABlock = BlockQ8_1;
  static constexpr int kBlock = 32, kRows1 = 4, kRowsN = 2, kTail = 0, kTailWBytes = 0, kTailABytes = 0;
  using Row = MinRow;
  using Act = ActQ8_1;
  using Acc = AccMin;
  static KQ_AVX2_INLINE Row load_row(const WBlock& b) { return {nibbles_lo_hi(load128(b.qs)), f16x8(b.d), f16x8(b.m)}; }
  static KQ_AVX2_INLINE Act load_act(const ABlock& b) { return load_act_q8_1(b); }
  static KQ_AVX2_INLINE void dot(const Row& w, const Act& a, Acc& acc) { dot_min(w, a, acc); }
  static KQ_AVX2_INLINE Acc zero() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
  static KQ_AVX2_INLINE float finish(const Acc& acc) { return hsum(acc.v) + _mm256_cvtss_f32(acc.m); }
};

struct Q5_1K {
  using WBlock = BlockQ5_1;
  using ABlock = BlockQ8_1;
  static constexpr int kBlock = 32, kRows1 = 4, kRowsN = 2, kTail = 0, kTailWBytes = 0, kTailABytes = 0;
  using Row = MinRow;
  using Act = ActQ8_1;
  using Acc = AccMin;
  static KQ_AVX2_INLINE Row load_row(const WBlock& b) {
    return {_mm256_or_si256(nibbles_lo_hi(load128(b.qs)), q5_high_bits(b.qh)), f16x8(b.d), f16x8(b.m)};
  }
  static KQ_AVX2_INLINE Act load_act(const ABlock& b) { return load_act_q8_1(b); }
  static KQ_AVX2_INLINE void dot(const Row& w, const Act& a, Acc& acc) { dot_min(w, a, acc); }
  static KQ_AVX2_INLINE Acc zero() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
  static KQ_AVX2_INLINE float finish(const Acc& acc) { return hsum(acc.v) + _mm256_cvtss_f32(acc.m); }
};

// Q8_0 · Q8_0H: |x| (unsigned, 128 for -128 is right) times y carrying x's sign; exact while y is
// not -128, which the activation converter guarantees (|q| <= 127). Weights may hold any byte.
// Lanes 0-3 sum elements 0-15 and lanes 4-7 elements 16-31, so the activation scales are
// [d0 ×4 | d1 ×4].
struct Q8_0K {
  using WBlock = BlockQ8_0;
  using ABlock = BlockQ8_0H;
  static constexpr int kBlock = 32, kRows1 = 4, kRowsN = 2, kTail = 0, kTailWBytes = 0, kTailABytes = 0;
  struct Row {
    __m256i ax, x;
    __m256 d;
  };
  struct Act {
    __m256i y;
    __m256 d;
  };
  using Acc = __m256;
  static KQ_AVX2_INLINE Row load_row(const WBlock& b) {
    const __m256i x = load256(b.qs);
    return {_mm256_abs_epi8(x), x, f16x8(b.d)};
  }
  static KQ_AVX2_INLINE Act load_act(const ABlock& b) {
    return {load256(b.qs), _mm256_cvtph_ps(_mm_set_epi16(short(b.d[1]), short(b.d[1]), short(b.d[1]), short(b.d[1]),
                                                          short(b.d[0]), short(b.d[0]), short(b.d[0]), short(b.d[0])))};
  }
  static KQ_AVX2_INLINE void dot(const Row& w, const Act& a, Acc& acc) {
    const __m256i p = _mm256_maddubs_epi16(w.ax, _mm256_sign_epi8(a.y, w.x));
    acc = _mm256_fmadd_ps(_mm256_mul_ps(w.d, a.d), _mm256_cvtepi32_ps(sum_pairs(p)), acc);
  }
  static KQ_AVX2_INLINE Acc zero() { return _mm256_setzero_ps(); }
  static KQ_AVX2_INLINE float finish(const Acc& acc) { return hsum(acc); }
};

// IQ4_NL · Q8_0: table values (never -128) carry y's sign, |y| is the unsigned side: exact for
// every input.
struct IQ4_NLK {
  using WBlock = BlockIQ4NL;
  using ABlock = BlockQ8_0;
  static constexpr int kBlock = 32, kRows1 = 4, kRowsN = 2, kTail = 0, kTailWBytes = 0, kTailABytes = 0;
  struct Row {
    __m256i v;  // signed table values in element order
    __m256 d;
  };
  struct Act {
    __m256i y, ay;
    __m256 d;
  };
  using Acc = __m256;
  static KQ_AVX2_INLINE Row load_row(const WBlock& b) {
    const __m256i table = _mm256_broadcastsi128_si256(load128(kIq4nlValues));
    return {_mm256_shuffle_epi8(table, nibbles_lo_hi(load128(b.qs))), f16x8(b.d)};
  }
  static KQ_AVX2_INLINE Act load_act(const ABlock& b) {
    const __m256i y = load256(b.qs);
    return {y, _mm256_abs_epi8(y), f16x8(b.d)};
  }
  static KQ_AVX2_INLINE void dot(const Row& w, const Act& a, Acc& acc) {
    const __m256i p = _mm256_maddubs_epi16(a.ay, _mm256_sign_epi8(w.v, a.y));
    acc = _mm256_fmadd_ps(_mm256_mul_ps(w.d, a.d), _mm256_cvtepi32_ps(sum_pairs(p)), acc);
  }
  static KQ_AVX2_INLINE Acc zero() { return _mm256_setzero_ps(); }
  static KQ_AVX2_INLINE float finish(const Acc& acc) { return hsum(acc); }
};

// Two blocks at a time (Q4_0, Q5_0, IQ4_NL): one 256-bit register holds both blocks' 16 quant
// bytes, so both blocks share each nibble split; the activation pair is regrouped to match
// ([y0 0..15 | y1 0..15] and [y0 16..31 | y1 16..31]) once for all rows, and one conversion and
// FMA cover both blocks. A row with an odd block count ends with the one-block kernel (tail).
template <class B>
struct Pair {
  B b[2];
};
using Q8_0x2 = Pair<BlockQ8_0>;
static_assert(sizeof(Pair<BlockQ4_0>) == 36 && sizeof(Pair<BlockQ5_0>) == 44 && sizeof(Q8_0x2) == 68,
              "block pairs are packed");

// [d0 ×4 | d1 ×4] as floats.
KQ_AVX2_INLINE __m256 f16_pair(uint16_t d0, uint16_t d1) {
  return _mm256_cvtph_ps(_mm_unpacklo_epi64(_mm_set1_epi16(short(d0)), _mm_set1_epi16(short(d1))));
}

// Nibble planes of two blocks: lo = [block 0 elements 0..15 | block 1 elements 0..15], hi = 16..31.
KQ_AVX2_INLINE void nibble_planes(const uint8_t* qs0, const uint8_t* qs1, __m256i& lo, __m256i& hi) {
  const __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(load128(qs0)), load128(qs1), 1);
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  lo = _mm256_and_si256(v, m4);
  hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
}

// Q5_0's bit 4 for the same planes: bits 0..15 of each block's qh in lo, bits 16..31 in hi, as 0x10.
KQ_AVX2_INLINE void q5_high_planes(const uint8_t* qh0, const uint8_t* qh1, __m256i& lo, __m256i& hi) {
  const uint64_t both = uint64_t(load_u32(qh0)) | (uint64_t(load_u32(qh1)) << 32);
  const __m256i all = _mm256_set1_epi64x(int64_t(both));
  const __m256i bit = _mm256_set1_epi64x(int64_t(0x8040201008040201ull));
  const __m256i ctl_lo = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                          4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5);
  const __m256i ctl_hi = _mm256_setr_epi8(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3,  //
                                          6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7);
  const __m256i b4 = _mm256_set1_epi8(0x10);
  lo = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(all, ctl_lo), bit), bit), b4);
  hi = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(all, ctl_hi), bit), bit), b4);
}

struct Q4_0Planes {
  using Block = BlockQ4_0;
  using Single = Q4_0K;
  static constexpr int kOffset = 8;
  static KQ_AVX2_INLINE void planes(const Block& b0, const Block& b1, __m256i& lo, __m256i& hi) {
    nibble_planes(b0.qs, b1.qs, lo, hi);
  }
};
struct Q5_0Planes {
  using Block = BlockQ5_0;
  using Single = Q5_0K;
  static constexpr int kOffset = 16;
  static KQ_AVX2_INLINE void planes(const Block& b0, const Block& b1, __m256i& lo, __m256i& hi) {
    __m256i hlo, hhi;
    nibble_planes(b0.qs, b1.qs, lo, hi);
    q5_high_planes(b0.qh, b1.qh, hlo, hhi);
    lo = _mm256_or_si256(lo, hlo);
    hi = _mm256_or_si256(hi, hhi);
  }
};

// Unsigned levels q with an offset: Σ (q - offset)·y = Σ q·y - offset·Σ y. With q <= 31 each
// maddubs pair is within ±7936 and off within ±8192, so the int16 sum cannot overflow.
template <class P>
struct OffsetPairK {
  using WBlock = Pair<typename P::Block>;
  using ABlock = Q8_0x2;
  static constexpr int kBlock = 64, kRows1 = 4, kRowsN = 2;
  static constexpr int kTail = 32, kTailWBytes = sizeof(typename P::Block), kTailABytes = sizeof(BlockQ8_0);
  struct Row {
    __m256i lo, hi;
    __m256 d;
  };
  struct Act {
    __m256i lo, hi, off;  // off: offset·(pair sums of lo + pair sums of hi)
    __m256 d;
  };
  using Acc = __m256;
  static KQ_AVX2_INLINE Row load_row(const WBlock& b) {
    Row r;
    P::planes(b.b[0], b.b[1], r.lo, r.hi);
    r.d = f16_pair(b.b[0].d, b.b[1].d);
    return r;
  }
  static KQ_AVX2_INLINE Act load_act(const ABlock& b) {
    const __m256i y0 = load256(b.b[0].qs), y1 = load256(b.b[1].qs);
    const __m256i lo = _mm256_permute2x128_si256(y0, y1, 0x20), hi = _mm256_permute2x128_si256(y0, y1, 0x31);
    const __m256i k = _mm256_set1_epi8(P::kOffset);
    const __m256i off = _mm256_add_epi16(_mm256_maddubs_epi16(k, lo), _mm256_maddubs_epi16(k, hi));
    return {lo, hi, off, f16_pair(b.b[0].d, b.b[1].d)};
  }
  static KQ_AVX2_INLINE void dot(const Row& w, const Act& a, Acc& acc) {
    const __m256i p = _mm256_sub_epi16(
        _mm256_add_epi16(_mm256_maddubs_epi16(w.lo, a.lo), _mm256_maddubs_epi16(w.hi, a.hi)), a.off);
    acc = _mm256_fmadd_ps(_mm256_mul_ps(w.d, a.d), _mm256_cvtepi32_ps(sum_pairs(p)), acc);
  }
  static KQ_AVX2_INLINE void tail(const uint8_t* w, const uint8_t* a, Acc& acc) {
    using S = typename P::Single;
    S::dot(S::load_row(*reinterpret_cast<const typename P::Block*>(w)),
           S::load_act(*reinterpret_cast<const BlockQ8_0*>(a)), acc);
  }
  static KQ_AVX2_INLINE Acc zero() { return _mm256_setzero_ps(); }
  static KQ_AVX2_INLINE float finish(const Acc& acc) { return hsum(acc); }
};

// IQ4_NL two blocks at a time; the sign trick as in IQ4_NLK, the two halves summed in int32.
struct IQ4_NLPairK {
  using WBlock = Pair<BlockIQ4NL>;
  using ABlock = Q8_0x2;
  static constexpr int kBlock = 64, kRows1 = 4, kRowsN = 2;
  static constexpr int kTail = 32, kTailWBytes = sizeof(BlockIQ4NL), kTailABytes = sizeof(BlockQ8_0);
  struct Row {
    __m256i lo, hi;  // signed table values
    __m256 d;
  };
  struct Act {
    __m256i lo, hi, alo, ahi;
    __m256 d;
  };
  using Acc = __m256;
  static KQ_AVX2_INLINE Row load_row(const WBlock& b) {
    const __m256i table = _mm256_broadcastsi128_si256(load128(kIq4nlValues));
    __m256i lo, hi;
    nibble_planes(b.b[0].qs, b.b[1].qs, lo, hi);
    return {_mm256_shuffle_epi8(table, lo), _mm256_shuffle_epi8(table, hi), f16_pair(b.b[0].d, b.b[1].d)};
  }
  static KQ_AVX2_INLINE Act load_act(const ABlock& b) {
    const __m256i y0 = load256(b.b[0].qs), y1 = load256(b.b[1].qs);
    const __m256i lo = _mm256_permute2x128_si256(y0, y1, 0x20), hi = _mm256_permute2x128_si256(y0, y1, 0x31);
    return {lo, hi, _mm256_abs_epi8(lo), _mm256_abs_epi8(hi), f16_pair(b.b[0].d, b.b[1].d)};
  }
  static KQ_AVX2_INLINE void dot(const Row& w, const Act& a, Acc& acc) {
    const __m256i s = _mm256_add_epi32(sum_pairs(_mm256_maddubs_epi16(a.alo, _mm256_sign_epi8(w.lo, a.lo))),
                                       sum_pairs(_mm256_maddubs_epi16(a.ahi, _mm256_sign_epi8(w.hi, a.hi))));
    acc = _mm256_fmadd_ps(_mm256_mul_ps(w.d, a.d), _mm256_cvtepi32_ps(s), acc);
  }
  static KQ_AVX2_INLINE void tail(const uint8_t* w, const uint8_t* a, Acc& acc) {
    IQ4_NLK::dot(IQ4_NLK::load_row(*reinterpret_cast<const BlockIQ4NL*>(w)),
                 IQ4_NLK::load_act(*reinterpret_cast<const BlockQ8_0*>(a)), acc);
  }
  static KQ_AVX2_INLINE Acc zero() { return _mm256_setzero_ps(); }
  static KQ_AVX2_INLINE float finish(const Acc& acc) { return hsum(acc); }
};

}  // namespace

void fill_legacy(KernelTable& t) {
  install<OffsetPairK<Q4_0Planes>>(t, QType::Q4_0);
  install<Q4_1K>(t, QType::Q4_1);
  install<OffsetPairK<Q5_0Planes>>(t, QType::Q5_0);
  install<Q5_1K>(t, QType::Q5_1);
  install<Q8_0K>(t, QType::Q8_0);
  install<IQ4_NLPairK>(t, QType::IQ4_NL);
}

}  // namespace kq::avx2
