// NEON dot-product and matmul-tile bodies for every weight type, templated on the int8 dot step.
// kernels_neon.cpp (ARMv8-A: vmull_s8 + vpadalq_s16) and kernels_neondot.cpp (vdotq_s32) each
// instantiate them. Everything has internal linkage, so the two files' copies (built with
// different -march flags) can never be merged by the linker into one that the CPU lacks.
#pragma once

#if defined(__aarch64__)

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "common/fp16.h"
#include "quant/iq4_common.h"
#include "quant/iq4_nl.h"
#include "quant/iq4_xs.h"
#include "quant/kernels.h"
#include "quant/q2_k.h"
#include "quant/q3_k.h"
#include "quant/q4_0.h"
#include "quant/q4_1.h"
#include "quant/q4_k.h"
#include "quant/q5_0.h"
#include "quant/q5_1.h"
#include "quant/q5_k.h"
#include "quant/q6_k.h"
#include "quant/q8_0.h"
#include "quant/q8_0h.h"
#include "quant/q8_1.h"
#include "quant/q8_k.h"

namespace kq {
namespace {
namespace neon {

// How the float side is kept exact: every kernel computes each block's integer sums exactly with
// vectors, then folds them into a per-row float sum with the same operations, in the same order,
// as the scalar reference. So a row's result equals the reference's bit for bit, and cannot depend
// on how many rows or tokens share its tile. (The float types accumulate in double like the
// reference, but in 8 lanes: equal up to the double rounding of the sum.)

inline int8x16_t s8(uint8x16_t v) { return vreinterpretq_s8_u8(v); }

// Expands 16 bits of a Q5-style bit field to bytes: lane i is 0x10 where bit (first + i) is set.
inline uint8x16_t q5_high_bits(uint32_t bits, int first) {
  static const uint8_t kBit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  const uint16_t h = uint16_t(bits >> first);
  const uint8x16_t v = vcombine_u8(vdup_n_u8(uint8_t(h)), vdup_n_u8(uint8_t(h >> 8)));
  return vandq_u8(vtstq_u8(v, vld1q_u8(kBit)), vdupq_n_u8(0x10));
}

// ggml's fp16 scales widened by the hardware conversion (FCVT, in every AArch64 CPU) rather than
// common/fp16's portable bit manipulation, which compiles to compares, field extracts and selects.
// Equal to fp16_to_fp32 bit for bit for every input except the signaling NaNs (exponent all ones,
// mantissa nonzero with its top bit clear): FCVT quiets them (sets bit 22 of the result) where
// fp16_to_fp32 keeps them signaling; a NaN scale makes the block's sum NaN either way. This holds
// under the FPCR every Linux process starts with (AHP = 0: IEEE half; DN = 0: NaN payloads kept),
// which kq never changes; FZ/FZ16 do not apply (conversions never flush half-precision inputs).
inline float fp16_to_fp32_fcvt(uint16_t h) {
  __fp16 v;
  std::memcpy(&v, &h, sizeof v);
  return float(v);
}

// Four fp16 scales at once (FCVTL): lane i equals fp16_to_fp32_fcvt(h[i]).
inline float32x4_t fp16x4_to_fp32_fcvt(const uint16_t* h) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h))); }

inline uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// ---- activations ----------------------------------------------------------------------------

struct ActQ8_0 {
  int8x16_t lo, hi;
  float d;
  static ActQ8_0 load(const BlockQ8_0& y) { return {vld1q_s8(y.qs), vld1q_s8(y.qs + 16), fp16_to_fp32_fcvt(y.d)}; }
};

// Q8_0H: one scale per 16-element half (lo, hi).
struct ActQ8_0H {
  int8x16_t lo, hi;
  float d0, d1;
  static ActQ8_0H load(const BlockQ8_0H& y) {
    return {vld1q_s8(y.qs), vld1q_s8(y.qs + 16), fp16_to_fp32_fcvt(y.d[0]), fp16_to_fp32_fcvt(y.d[1])};
  }
};

struct ActQ8_1 {
  int8x16_t lo, hi;
  float d, s;
  static ActQ8_1 load(const BlockQ8_1& y) {
    return {vld1q_s8(y.qs), vld1q_s8(y.qs + 16), fp16_to_fp32_fcvt(y.d), fp16_to_fp32_fcvt(y.s)};
  }
};

struct ActQ8K {
  const int8_t* qs;  // read per sub-block (256 bytes would not stay in registers across rows)
  int16x8_t bs_lo, bs_hi;  // bsums[0..7], bsums[8..15]
  float d;
  static ActQ8K load(const BlockQ8K& y) {
    return {y.qs, vld1q_s16(y.bsums), vld1q_s16(y.bsums + 8), y.d};
  }
  int8x16_t q(int i) const { return vld1q_s8(qs + 16 * i); }
};

// ---- weight types ----------------------------------------------------------------------------
// Each type K gives: W (weight block), A (activation block), Act (A in registers), Wq (W unpacked
// to int8 lanes in element order, plus its scales), unpack(W) -> Wq, and dot<Dot>(Wq, Act, sum),
// which adds the block's contribution to sum in the reference's float order. A tile unpacks a
// weight block once for all its tokens and loads an activation block once for all its rows.

// Σ of one 32-element block's int8 products.
template <class Dot>
inline int32_t isum32(int8x16_t w0, int8x16_t w1, int8x16_t a0, int8x16_t a1) {
  return vaddvq_s32(Dot::dot(Dot::dot(vdupq_n_s32(0), w0, a0), w1, a1));
}

// Two 16-lane halves of a legacy block: element j and element j + 16 are lane j of lo and hi.
struct Wq32 {
  int8x16_t lo, hi;
  float d, m;
};

inline uint8x16_t low_nibbles(uint8x16_t v) { return vandq_u8(v, vdupq_n_u8(0x0F)); }

// Q8_0 weights · Q8_0H activations: the halves' sums one after the other, as dot_q8_0_q8_0h.
struct KQ8_0 {
  using W = BlockQ8_0;
  using A = BlockQ8_0H;
  using Act = ActQ8_0H;
  using Wq = Wq32;
  static constexpr int64_t kBlock = 32;
  static Wq unpack(const W& x) { return {vld1q_s8(x.qs), vld1q_s8(x.qs + 16), fp16_to_fp32_fcvt(x.d), 0.0f}; }
  template <class Dot>
  static void dot(const Wq& w, const Act& a, float& sum) {
    sum += float(vaddvq_s32(Dot::dot(vdupq_n_s32(0), w.lo, a.lo))) * (w.d * a.d0);
    sum += float(vaddvq_s32(Dot::dot(vdupq_n_s32(0), w.hi, a.hi))) * (w.d * a.d1);
  }
};

struct KQ4_0 {
  using W = BlockQ4_0;
  using A = BlockQ8_0;
  using Act = ActQ8_0;
  using Wq = Wq32;
  static constexpr int64_t kBlock = 32;
  static Wq unpack(const W& x) {
    const uint8x16_t raw = vld1q_u8(x.qs);
    const int8x16_t eight = vdupq_n_s8(8);
    return {vsubq_s8(s8(low_nibbles(raw)), eight), vsubq_s8(s8(vshrq_n_u8(raw, 4)), eight), fp16_to_fp32_fcvt(x.d),
            0.0f};
  }
  template <class Dot>
  static void dot(const Wq& w, const Act& a, float& sum) {
    sum += float(isum32<Dot>(w.lo, w.hi, a.lo, a.hi)) * w.d * a.d;
  }
};

struct KQ4_1 {
  using W = BlockQ4_1;
  using A = BlockQ8_1;
  using Act = ActQ8_1;
  using Wq = Wq32;
  static constexpr int64_t kBlock = 32;
  static Wq unpack(const W& x) {
    const uint8x16_t raw = vld1q_u8(x.qs);
    return {s8(low_nibbles(raw)), s8(vshrq_n_u8(raw, 4)), fp16_to_fp32_fcvt(x.d), fp16_to_fp32_fcvt(x.m)};
  }
  template <class Dot>
  static void dot(const Wq& w, const Act& a, float& sum) {
    sum += (w.d * a.d) * float(isum32<Dot>(w.lo, w.hi, a.lo, a.hi)) + w.m * a.s;
  }
};

struct KQ5_0 {
  using W = BlockQ5_0;
  using A = BlockQ8_0;
  using Act = ActQ8_0;
  using Wq = Wq32;
  static constexpr int64_t kBlock = 32;
  static Wq unpack(const W& x) {
    const uint32_t qh = load_u32(x.qh);
    const uint8x16_t raw = vld1q_u8(x.qs);
    const int8x16_t sixteen = vdupq_n_s8(16);
    return {vsubq_s8(s8(vorrq_u8(low_nibbles(raw), q5_high_bits(qh, 0))), sixteen),
            vsubq_s8(s8(vorrq_u8(vshrq_n_u8(raw, 4), q5_high_bits(qh, 16))), sixteen), fp16_to_fp32_fcvt(x.d), 0.0f};
  }
  template <class Dot>
  static void dot(const Wq& w, const Act& a, float& sum) {
    sum += (w.d * a.d) * float(isum32<Dot>(w.lo, w.hi, a.lo, a.hi));
  }
};

struct KQ5_1 {
  using W = BlockQ5_1;
  using A = BlockQ8_1;
  using Act = ActQ8_1;
  using Wq = Wq32;
  static constexpr int64_t kBlock = 32;
  static Wq unpack(const W& x) {
    const uint32_t qh = load_u32(x.qh);
    const uint8x16_t raw = vld1q_u8(x.qs);
    return {s8(vorrq_u8(low_nibbles(raw), q5_high_bits(qh, 0))), s8(vorrq_u8(vshrq_n_u8(raw, 4), q5_high_bits(qh, 16))),
            fp16_to_fp32_fcvt(x.d), fp16_to_fp32_fcvt(x.m)};
  }
  template <class Dot>
  static void dot(const Wq& w, const Act& a, float& sum) {
    sum += (w.d * a.d) * float(isum32<Dot>(w.lo, w.hi, a.lo, a.hi)) + w.m * a.s;
  }
};

struct KIQ4_NL {
  using W = BlockIQ4NL;
  using A = BlockQ8_0;
  using Act = ActQ8_0;
  using Wq = Wq32;
  static constexpr int64_t kBlock = 32;
  static Wq unpack(const W& x) {
    const int8x16_t table = vld1q_s8(kIq4nlValues);
    const uint8x16_t raw = vld1q_u8(x.qs);
    return {vqtbl1q_s8(table, low_nibbles(raw)), vqtbl1q_s8(table, vshrq_n_u8(raw, 4)), fp16_to_fp32_fcvt(x.d), 0.0f};
  }
  template <class Dot>
  static void dot(const Wq& w, const Act& a, float& sum) {
    sum += (a.d * w.d) * float(isum32<Dot>(w.lo, w.hi, a.lo, a.hi));
  }
};

// ---- k-quants (256-element super-blocks, Q8_K activations) -----------------------------------
// q[i] holds elements 16i..16i+15, matching the activation's a.q(i).

// Σ_j m_j·(bsums[2j] + bsums[2j+1]) for eight 6-bit mins m.
inline int32_t mins_dot_pairs(const ActQ8K& a, uint8x8_t mins) {
  const int16x8_t pairs = vpaddq_s16(a.bs_lo, a.bs_hi);  // |sum| <= 32·128: fits in int16
  const int16x8_t m = vreinterpretq_s16_u16(vmovl_u8(mins));
  return vaddvq_s32(vaddq_s32(vmull_s16(vget_low_s16(pairs), vget_low_s16(m)), vmull_high_s16(pairs, m)));
}

// Unpacks Q4_K/Q5_K's twelve scale bytes into eight scales (sc) and eight mins (m).
inline void k4_scales(const uint8_t* b, uint8_t* sc, uint8_t* m) {
  const uint32_t s0 = load_u32(b), s1 = load_u32(b + 4), s2 = load_u32(b + 8);
  const uint32_t lo6 = 0x3F3F3F3Fu, lo4 = 0x0F0F0F0Fu, lo2 = 0x03030303u;
  const uint32_t w[4] = {s0 & lo6, (s2 & lo4) | (((s0 >> 6) & lo2) << 4), s1 & lo6,
                         ((s2 >> 4) & lo4) | (((s1 >> 6) & lo2) << 4)};
  std::memcpy(sc, w, 8);
  std::memcpy(m, w + 2, 8);
}

// Q4_K and Q5_K unpacked: eight 32-element sub-blocks with a scale and a min each.
struct WqK4 {
  int8x16_t q[16];
  uint8_t sc[8], m[8];
  float d, dmin;
};

template <class Dot>
inline void dot_k4(const WqK4& w, const ActQ8K& a, float& sum) {
  int32x4_t acc = vdupq_n_s32(0);
  for (int j = 0; j < 8; ++j) {
    const int32x4_t p = Dot::dot(Dot::dot(vdupq_n_s32(0), w.q[2 * j], a.q(2 * j)), w.q[2 * j + 1], a.q(2 * j + 1));
    acc = vmlaq_n_s32(acc, p, w.sc[j]);
  }
  const int32_t sum_q = vaddvq_s32(acc);
  const int32_t sum_mins = mins_dot_pairs(a, vld1_u8(w.m));
  const float dall = a.d * w.d;
  const float dmin = a.d * w.dmin;
  sum += dall * float(sum_q) - dmin * float(sum_mins);
}

struct KQ4_K {
  using W = BlockQ4K;
  using A = BlockQ8K;
  using Act = ActQ8K;
  using Wq = WqK4;
  static constexpr int64_t kBlock = 256;
  // Bytes 32c..32c+31: sub-block 2c in the low nibbles, 2c+1 in the high nibbles.
  static Wq unpack(const W& x) {
    Wq w;
    k4_scales(x.scales, w.sc, w.m);
    for (int c = 0; c < 4; ++c) {
      const uint8x16_t r0 = vld1q_u8(x.qs + 32 * c), r1 = vld1q_u8(x.qs + 32 * c + 16);
      w.q[4 * c] = s8(low_nibbles(r0));
      w.q[4 * c + 1] = s8(low_nibbles(r1));
      w.q[4 * c + 2] = s8(vshrq_n_u8(r0, 4));
      w.q[4 * c + 3] = s8(vshrq_n_u8(r1, 4));
    }
    w.d = fp16_to_fp32_fcvt(x.d);
    w.dmin = fp16_to_fp32_fcvt(x.dmin);
    return w;
  }
  template <class Dot>
  static void dot(const Wq& w, const Act& a, float& sum) {
    dot_k4<Dot>(w, a, sum);
  }
};

struct KQ5_K {
  using W = BlockQ5K;
  using A = BlockQ8K;
  using Act = ActQ8K;
  using Wq = WqK4;
  static constexpr int64_t kBlock = 256;
  // Low nibbles as Q4_K; qh bit j of byte l is bit 4 of element 32j + l, peeled one bit per sub-block.
  static Wq unpack(const W& x) {
    Wq w;
    k4_scales(x.scales, w.sc, w.m);
    const uint8x16_t one = vdupq_n_u8(1);
    uint8x16_t h0 = vld1q_u8(x.qh), h1 = vld1q_u8(x.qh + 16);
    const auto next_bit = [&](uint8x16_t& h) {
      const uint8x16_t b = vshlq_n_u8(vandq_u8(h, one), 4);
      h = vshrq_n_u8(h, 1);
      return b;
    };
    for (int c = 0; c < 4; ++c) {
      const uint8x16_t r0 = vld1q_u8(x.qs + 32 * c), r1 = vld1q_u8(x.qs + 32 * c + 16);
      w.q[4 * c] = s8(vorrq_u8(low_nibbles(r0), next_bit(h0)));
      w.q[4 * c + 1] = s8(vorrq_u8(low_nibbles(r1), next_bit(h1)));
      w.q[4 * c + 2] = s8(vorrq_u8(vshrq_n_u8(r0, 4), next_bit(h0)));
      w.q[4 * c + 3] = s8(vorrq_u8(vshrq_n_u8(r1, 4), next_bit(h1)));
    }
    w.d = fp16_to_fp32_fcvt(x.d);
    w.dmin = fp16_to_fp32_fcvt(x.dmin);
    return w;
  }
  template <class Dot>
  static void dot(const Wq& w, const Act& a, float& sum) {
    dot_k4<Dot>(w, a, sum);
  }
};

// Sixteen 16-element sub-blocks with a signed scale each (Q3_K, Q6_K), or an unsigned scale and
// min (Q2_K: mins in m).
struct WqK16 {
  int8x16_t q[16];
  int8_t sc[16];
  uint8_t m[16];
  float d, dmin;
};

template <class Dot>
inline int32_t sum_k16(const WqK16& w, const ActQ8K& a) {
  int32x4_t acc = vdupq_n_s32(0);
  for (int j = 0; j < 16; ++j) acc = vmlaq_n_s32(acc, Dot::dot(vdupq_n_s32(0), w.q[j], a.q(j)), w.sc[j]);
  return vaddvq_s32(acc);
}

struct KQ6_K {
  using W = BlockQ6K;
  using A = BlockQ8K;
  using Act = ActQ8K;
  using Wq = WqK16;
  static constexpr int64_t kBlock = 256;
  // Element 128h + 32k + 16s + i is lane i of q[8h + 2k + s]: low nibble of ql[64h + 32(k%2) + 16s + i]
  // (high nibble for k >= 2), high two bits from qh[32h + 16s + i] >> 2k.
  static Wq unpack(const W& x) {
    Wq w;
    const uint8x16_t mask2 = vdupq_n_u8(0x03);
    const int8x16_t off = vdupq_n_s8(32);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = x.ql + 64 * h;
      const uint8_t* qh = x.qh + 32 * h;
      const uint8x16_t L[4] = {vld1q_u8(ql), vld1q_u8(ql + 16), vld1q_u8(ql + 32), vld1q_u8(ql + 48)};
      const uint8x16_t H[2] = {vld1q_u8(qh), vld1q_u8(qh + 16)};
      for (int k = 0; k < 4; ++k) {
        for (int s = 0; s < 2; ++s) {
          const uint8x16_t lbyte = L[2 * (k % 2) + s];
          const uint8x16_t low = k < 2 ? low_nibbles(lbyte) : vshrq_n_u8(lbyte, 4);
          const uint8x16_t high = vandq_u8(vshlq_u8(H[s], vdupq_n_s8(int8_t(-2 * k))), mask2);
          w.q[8 * h + 2 * k + s] = vsubq_s8(s8(vorrq_u8(low, vshlq_n_u8(high, 4))), off);
        }
      }
    }
    std::memcpy(w.sc, x.scales, 16);
    w.d = fp16_to_fp32_fcvt(x.d);
    return w;
  }
  template <class Dot>
  static void dot(const Wq& w, const Act& a, float& sum) {
    sum += (w.d * a.d) * float(sum_k16<Dot>(w, a));
  }
};

// Q3_K's sixteen 6-bit scales, minus 32 (formats.md B.4).
inline int8x16_t q3k_scales(const uint8_t* b) {
  const uint8x8_t b07 = vld1_u8(b);
  const uint8x16_t low = vcombine_u8(vand_u8(b07, vdup_n_u8(0x0F)), vshr_n_u8(b07, 4));
  uint8_t hb[16];
  for (int i = 0; i < 4; ++i) std::memcpy(hb + 4 * i, b + 8, 4);
  static const int8_t kShift[16] = {0, 0, 0, 0, -2, -2, -2, -2, -4, -4, -4, -4, -6, -6, -6, -6};
  const uint8x16_t high = vandq_u8(vshlq_u8(vld1q_u8(hb), vld1q_s8(kShift)), vdupq_n_u8(0x03));
  return vsubq_s8(s8(vorrq_u8(low, vshlq_n_u8(high, 4))), vdupq_n_s8(32));
}

// Q2_K and Q3_K share the 2-bit placement: element 128h + 32s + 16half + i is bits 2s of byte
// qs[32h + 16half + i], i.e. lane i of q[8h + 2s + half].
template <class F>
inline void unpack_2bit(const uint8_t* qs, F&& put) {
  const uint8x16_t mask2 = vdupq_n_u8(0x03);
  for (int h = 0; h < 2; ++h) {
    const uint8x16_t Q[2] = {vld1q_u8(qs + 32 * h), vld1q_u8(qs + 32 * h + 16)};
    for (int s = 0; s < 4; ++s)
      for (int half = 0; half < 2; ++half)
        put(8 * h + 2 * s + half, half, vandq_u8(vshlq_u8(Q[half], vdupq_n_s8(int8_t(-2 * s))), mask2));
  }
}

struct KQ3_K {
  using W = BlockQ3K;
  using A = BlockQ8K;
  using Act = ActQ8K;
  using Wq = WqK16;
  static constexpr int64_t kBlock = 256;
  static Wq unpack(const W& x) {
    Wq w;
    vst1q_s8(w.sc, q3k_scales(x.scales));
    const uint8x16_t one = vdupq_n_u8(1);
    const int8x16_t four = vdupq_n_s8(4);
    // hmask bit j of byte l belongs to element 32j + l: peel one bit per 32 elements, in the
    // order unpack_2bit visits them (sub-blocks 2j and 2j + 1 use bit j of each half).
    uint8x16_t M[2] = {vld1q_u8(x.hmask), vld1q_u8(x.hmask + 16)};
    unpack_2bit(x.qs, [&](int sub, int half, uint8x16_t lo2) {
      const uint8x16_t hb = vshlq_n_u8(vandq_u8(M[half], one), 2);
      M[half] = vshrq_n_u8(M[half], 1);
      w.q[sub] = vsubq_s8(s8(vorrq_u8(lo2, hb)), four);
    });
    w.d = fp16_to_fp32_fcvt(x.d);
    return w;
  }
  template <class Dot>
  static void dot(const Wq& w, const Act& a, float& sum) {
    sum += (w.d * a.d) * float(sum_k16<Dot>(w, a));
  }
};

struct KQ2_K {
  using W = BlockQ2K;
  using A = BlockQ8K;
  using Act = ActQ8K;
  using Wq = WqK16;
  static constexpr int64_t kBlock = 256;
  static Wq unpack(const W& x) {
    Wq w;
    const uint8x16_t scales = vld1q_u8(x.scales);
    vst1q_s8(w.sc, s8(low_nibbles(scales)));
    vst1q_u8(w.m, vshrq_n_u8(scales, 4));
    unpack_2bit(x.qs, [&](int sub, int, uint8x16_t q) { w.q[sub] = s8(q); });
    w.d = fp16_to_fp32_fcvt(x.d);
    w.dmin = fp16_to_fp32_fcvt(x.dmin);
    return w;
  }
  template <class Dot>
  static void dot(const Wq& w, const Act& a, float& sum) {
    const uint8x16_t mins = vld1q_u8(w.m);
    const int16x8_t m_lo = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(mins)));
    const int16x8_t m_hi = vreinterpretq_s16_u16(vmovl_high_u8(mins));
    int32x4_t mm = vmull_s16(vget_low_s16(a.bs_lo), vget_low_s16(m_lo));
    mm = vmlal_high_s16(mm, a.bs_lo, m_lo);
    mm = vmlal_s16(mm, vget_low_s16(a.bs_hi), vget_low_s16(m_hi));
    mm = vmlal_high_s16(mm, a.bs_hi, m_hi);
    const int32_t sum_mins = vaddvq_s32(mm);
    const int32_t sum_q = sum_k16<Dot>(w, a);
    const float dall = a.d * w.d;
    const float dmin = a.d * w.dmin;
    sum += dall * float(sum_q) - dmin * float(sum_mins);
  }
};

struct KIQ4_XS {
  using W = BlockIQ4XS;
  using A = BlockQ8K;
  using Act = ActQ8K;
  struct Wq {
    int8x16_t q[16];
    int ls[8];  // sub-block scale minus 32
    float d;
  };
  static constexpr int64_t kBlock = 256;
  // Sub-block ib is bytes qs[16ib..16ib+15]: low nibbles then high nibbles, i.e. q[2ib], q[2ib+1].
  static Wq unpack(const W& x) {
    Wq w;
    const int8x16_t table = vld1q_s8(kIq4nlValues);
    for (int ib = 0; ib < 8; ++ib) {
      w.ls[ib] = (((x.scales_l[ib / 2] >> (4 * (ib % 2))) & 0x0F) | (((x.scales_h >> (2 * ib)) & 3) << 4)) - 32;
      const uint8x16_t raw = vld1q_u8(x.qs + 16 * ib);
      w.q[2 * ib] = vqtbl1q_s8(table, low_nibbles(raw));
      w.q[2 * ib + 1] = vqtbl1q_s8(table, vshrq_n_u8(raw, 4));
    }
    w.d = fp16_to_fp32_fcvt(x.d);
    return w;
  }
  template <class Dot>
  static void dot(const Wq& w, const Act& a, float& sum) {
    const float d4d8 = w.d * a.d;
    for (int ib = 0; ib < 8; ++ib)
      sum += (d4d8 * float(w.ls[ib])) * float(isum32<Dot>(w.q[2 * ib], w.q[2 * ib + 1], a.q(2 * ib), a.q(2 * ib + 1)));
  }
};

// ---- tiles -----------------------------------------------------------------------------------

// R weight rows (ws bytes apart) times T activation rows (as bytes apart) of nb blocks each, into
// y[t·ldy + r]. Each weight block is unpacked once for the T tokens and each activation block
// loaded once for the R rows; per (row, token) the operations are those of R = T = 1.
template <class K, class Dot, int R, int T>
inline void block_tile(int64_t nb, const uint8_t* w, size_t ws, const uint8_t* act, size_t as, float* y, size_t ldy) {
  const typename K::W* x[R];
  const typename K::A* v[T];
  for (int r = 0; r < R; ++r) x[r] = reinterpret_cast<const typename K::W*>(w + size_t(r) * ws);
  for (int t = 0; t < T; ++t) v[t] = reinterpret_cast<const typename K::A*>(act + size_t(t) * as);
  float sum[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) sum[r][t] = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    typename K::Act a[T];
    for (int t = 0; t < T; ++t) a[t] = K::Act::load(v[t][b]);
    for (int r = 0; r < R; ++r) {
      const typename K::Wq q = K::unpack(x[r][b]);
      for (int t = 0; t < T; ++t) K::template dot<Dot>(q, a[t], sum[r][t]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) y[size_t(t) * ldy + size_t(r)] = sum[r][t];
}

template <class K, class Dot>
float block_vec_dot(int64_t n, const void* x, const void* y) {
  float out;
  block_tile<K, Dot, 1, 1>(n / K::kBlock, static_cast<const uint8_t*>(x), 0, static_cast<const uint8_t*>(y), 0, &out,
                           0);
  return out;
}

// Decode (one token at a time): 4 rows share each activation block. With 4 or more tokens:
// 2 rows × 4 tokens, so each unpacked weight block serves 4 tokens.
template <class K, class Dot>
void block_mul_rows(const MatmulTile& t) {
  const int64_t nb = t.k / K::kBlock;
  const auto wrow = [&](int64_t r) { return t.w + size_t(r) * t.w_stride; };
  int tok = 0;
  for (; tok + 4 <= t.n_tok; tok += 4) {
    const uint8_t* a = t.act + size_t(tok) * t.act_stride;
    float* y = t.y + size_t(tok) * t.ldy;
    int64_t r = 0;
    for (; r + 2 <= t.n_rows; r += 2) block_tile<K, Dot, 2, 4>(nb, wrow(r), t.w_stride, a, t.act_stride, y + r, t.ldy);
    for (; r < t.n_rows; ++r) block_tile<K, Dot, 1, 4>(nb, wrow(r), t.w_stride, a, t.act_stride, y + r, t.ldy);
  }
  for (; tok < t.n_tok; ++tok) {
    const uint8_t* a = t.act + size_t(tok) * t.act_stride;
    float* y = t.y + size_t(tok) * t.ldy;
    int64_t r = 0;
    for (; r + 4 <= t.n_rows; r += 4) block_tile<K, Dot, 4, 1>(nb, wrow(r), t.w_stride, a, 0, y + r, 0);
    for (; r < t.n_rows; ++r) block_tile<K, Dot, 1, 1>(nb, wrow(r), t.w_stride, a, 0, y + r, 0);
  }
}

template <class K, class Dot>
void set_block_kernels(KernelTable& t, QType type, const char* name) {
  TypeKernels& k = t[type];
  k.vec_dot = block_vec_dot<K, Dot>;
  k.mul_rows = block_mul_rows<K, Dot>;
  k.name = name;
}

// Every quantized weight type, with the int8 dot step Dot.
template <class Dot>
void fill_quant_kernels(KernelTable& t, const char* name) {
  set_block_kernels<KQ4_0, Dot>(t, QType::Q4_0, name);
  set_block_kernels<KQ4_1, Dot>(t, QType::Q4_1, name);
  set_block_kernels<KQ5_0, Dot>(t, QType::Q5_0, name);
  set_block_kernels<KQ5_1, Dot>(t, QType::Q5_1, name);
  set_block_kernels<KQ8_0, Dot>(t, QType::Q8_0, name);
  set_block_kernels<KQ2_K, Dot>(t, QType::Q2_K, name);
  set_block_kernels<KQ3_K, Dot>(t, QType::Q3_K, name);
  set_block_kernels<KQ4_K, Dot>(t, QType::Q4_K, name);
  set_block_kernels<KQ5_K, Dot>(t, QType::Q5_K, name);
  set_block_kernels<KQ6_K, Dot>(t, QType::Q6_K, name);
  set_block_kernels<KIQ4_NL, Dot>(t, QType::IQ4_NL, name);
  set_block_kernels<KIQ4_XS, Dot>(t, QType::IQ4_XS, name);
}

}  // namespace neon
}  // namespace
}  // namespace kq

#endif  // __aarch64__
