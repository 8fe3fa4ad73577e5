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

// Q4_0 two blocks at a time: one 256-bit register holds both blocks' 16 quant bytes, so the low
// nibbles of both blocks share one AND and the high nibbles one shift; the activation pair is
// regrouped to match ([y0 0..15 | y1 0..15] and [y0 16..31 | y1 16..31]) once for all rows, and
// one conversion and FMA cover both blocks. A row with an odd block count ends with Q4_0K's step.
struct Q4_0x2 {
  BlockQ4_0 b[2];
};
struct Q8_0x2 {
  BlockQ8_0 b[2];
};
static_assert(sizeof(Q4_0x2) == 36 && sizeof(Q8_0x2) == 68, "block pairs are packed");

// [d0 ×4 | d1 ×4] as floats.
KQ_AVX2_INLINE __m256 f16_pair(uint16_t d0, uint16_t d1) {
  return _mm256_cvtph_ps(_mm_unpacklo_epi64(_mm_set1_epi16(short(d0)), _mm_set1_epi16(short(d1))));
}

struct Q4_0PairK {
  using WBlock = Q4_0x2;
  using ABlock = Q8_0x2;
  static constexpr int kBlock = 64, kRows1 = 4, kRowsN = 2;
  static constexpr int kTail = 32, kTailWBytes = sizeof(BlockQ4_0), kTailABytes = sizeof(BlockQ8_0);
  struct Row {
    __m256i lo, hi;  // [block 0 elements 0..15 | block 1 elements 0..15], then elements 16..31
    __m256 d;
  };
  struct Act {
    __m256i lo, hi, off;  // off: 8·(pair sums of lo + pair sums of hi)
    __m256 d;
  };
  using Acc = __m256;
  static KQ_AVX2_INLINE Row load_row(const WBlock& b) {
    const __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(load128(b.b[0].qs)), load128(b.b[1].qs), 1);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    return {_mm256_and_si256(v, m4), _mm256_and_si256(_mm256_srli_epi16(v, 4), m4), f16_pair(b.b[0].d, b.b[1].d)};
  }
  static KQ_AVX2_INLINE Act load_act(const ABlock& b) {
    const __m256i y0 = load256(b.b[0].qs), y1 = load256(b.b[1].qs);
    const __m256i lo = _mm256_permute2x128_si256(y0, y1, 0x20), hi = _mm256_permute2x128_si256(y0, y1, 0x31);
    const __m256i eight = _mm256_set1_epi8(8);
    const __m256i off = _mm256_add_epi16(_mm256_maddubs_epi16(eight, lo), _mm256_maddubs_epi16(eight, hi));
    return {lo, hi, off, f16_pair(b.b[0].d, b.b[1].d)};
  }
  static KQ_AVX2_INLINE void dot(const Row& w, const Act& a, Acc& acc) {
    // Each maddubs pair is within ±3840 and off within ±4096: the int16 sum cannot overflow.
    const __m256i p = _mm256_sub_epi16(
        _mm256_add_epi16(_mm256_maddubs_epi16(w.lo, a.lo), _mm256_maddubs_epi16(w.hi, a.hi)), a.off);
    acc = _mm256_fmadd_ps(_mm256_mul_ps(w.d, a.d), _mm256_cvtepi32_ps(sum_pairs(p)), acc);
  }
  static KQ_AVX2_INLINE void tail(const uint8_t* w, const uint8_t* a, Acc& acc) {
    Q4_0K::dot(Q4_0K::load_row(*reinterpret_cast<const BlockQ4_0*>(w)),
               Q4_0K::load_act(*reinterpret_cast<const BlockQ8_0*>(a)), acc);
  }
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

// Q8_0 · Q8_0: |x| (unsigned, 128 for -128 is right) times y carrying x's sign; exact while y is
// not -128, which the activation converter guarantees (|q| <= 127). Weights may hold any byte.
struct Q8_0K {
  using WBlock = BlockQ8_0;
  using ABlock = BlockQ8_0;
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
  static KQ_AVX2_INLINE Act load_act(const ABlock& b) { return {load256(b.qs), f16x8(b.d)}; }
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

}  // namespace

void fill_legacy(KernelTable& t) {
  install<Q4_0PairK>(t, QType::Q4_0);
  install<Q4_1K>(t, QType::Q4_1);
  install<Q5_0K>(t, QType::Q5_0);
  install<Q5_1K>(t, QType::Q5_1);
  install<Q8_0K>(t, QType::Q8_0);
  install<IQ4_NLK>(t, QType::IQ4_NL);
}

}  // namespace kq::avx2
