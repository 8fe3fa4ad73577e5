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

inline uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// ---- activations ----------------------------------------------------------------------------

struct ActQ8_0 {
  int8x16_t lo, hi;
  float d;
  static ActQ8_0 load(const BlockQ8_0& y) { return {vld1q_s8(y.qs), vld1q_s8(y.qs + 16), fp16_to_fp32(y.d)}; }
};

struct ActQ8_1 {
  int8x16_t lo, hi;
  float d, s;
  static ActQ8_1 load(const BlockQ8_1& y) {
    return {vld1q_s8(y.qs), vld1q_s8(y.qs + 16), fp16_to_fp32(y.d), fp16_to_fp32(y.s)};
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

// ---- legacy 32-element blocks ----------------------------------------------------------------

struct KQ8_0 {
  using W = BlockQ8_0;
  using A = BlockQ8_0;
  using Act = ActQ8_0;
  static constexpr int64_t kBlock = 32;
  template <class Dot>
  static void acc(const W& x, const Act& a, float& sum) {
    const int32x4_t p = Dot::dot(Dot::dot(vdupq_n_s32(0), vld1q_s8(x.qs), a.lo), vld1q_s8(x.qs + 16), a.hi);
    sum += float(vaddvq_s32(p)) * (fp16_to_fp32(x.d) * a.d);
  }
};

struct KQ4_0 {
  using W = BlockQ4_0;
  using A = BlockQ8_0;
  using Act = ActQ8_0;
  static constexpr int64_t kBlock = 32;
  template <class Dot>
  static void acc(const W& x, const Act& a, float& sum) {
    const uint8x16_t raw = vld1q_u8(x.qs);
    const int8x16_t eight = vdupq_n_s8(8);
    const int8x16_t lo = vsubq_s8(s8(vandq_u8(raw, vdupq_n_u8(0x0F))), eight);
    const int8x16_t hi = vsubq_s8(s8(vshrq_n_u8(raw, 4)), eight);
    const int32x4_t p = Dot::dot(Dot::dot(vdupq_n_s32(0), lo, a.lo), hi, a.hi);
    sum += float(vaddvq_s32(p)) * fp16_to_fp32(x.d) * a.d;
  }
};

struct KQ4_1 {
  using W = BlockQ4_1;
  using A = BlockQ8_1;
  using Act = ActQ8_1;
  static constexpr int64_t kBlock = 32;
  template <class Dot>
  static void acc(const W& x, const Act& a, float& sum) {
    const uint8x16_t raw = vld1q_u8(x.qs);
    const int8x16_t lo = s8(vandq_u8(raw, vdupq_n_u8(0x0F)));
    const int8x16_t hi = s8(vshrq_n_u8(raw, 4));
    const int32x4_t p = Dot::dot(Dot::dot(vdupq_n_s32(0), lo, a.lo), hi, a.hi);
    sum += (fp16_to_fp32(x.d) * a.d) * float(vaddvq_s32(p)) + fp16_to_fp32(x.m) * a.s;
  }
};

struct KQ5_0 {
  using W = BlockQ5_0;
  using A = BlockQ8_0;
  using Act = ActQ8_0;
  static constexpr int64_t kBlock = 32;
  template <class Dot>
  static void acc(const W& x, const Act& a, float& sum) {
    const uint32_t qh = load_u32(x.qh);
    const uint8x16_t raw = vld1q_u8(x.qs);
    const int8x16_t sixteen = vdupq_n_s8(16);
    const int8x16_t lo = vsubq_s8(s8(vorrq_u8(vandq_u8(raw, vdupq_n_u8(0x0F)), q5_high_bits(qh, 0))), sixteen);
    const int8x16_t hi = vsubq_s8(s8(vorrq_u8(vshrq_n_u8(raw, 4), q5_high_bits(qh, 16))), sixteen);
    const int32x4_t p = Dot::dot(Dot::dot(vdupq_n_s32(0), lo, a.lo), hi, a.hi);
    sum += (fp16_to_fp32(x.d) * a.d) * float(vaddvq_s32(p));
  }
};

struct KQ5_1 {
  using W = BlockQ5_1;
  using A = BlockQ8_1;
  using Act = ActQ8_1;
  static constexpr int64_t kBlock = 32;
  template <class Dot>
  static void acc(const W& x, const Act& a, float& sum) {
    const uint32_t qh = load_u32(x.qh);
    const uint8x16_t raw = vld1q_u8(x.qs);
    const int8x16_t lo = s8(vorrq_u8(vandq_u8(raw, vdupq_n_u8(0x0F)), q5_high_bits(qh, 0)));
    const int8x16_t hi = s8(vorrq_u8(vshrq_n_u8(raw, 4), q5_high_bits(qh, 16)));
    const int32x4_t p = Dot::dot(Dot::dot(vdupq_n_s32(0), lo, a.lo), hi, a.hi);
    sum += (fp16_to_fp32(x.d) * a.d) * float(vaddvq_s32(p)) + fp16_to_fp32(x.m) * a.s;
  }
};

struct KIQ4_NL {
  using W = BlockIQ4NL;
  using A = BlockQ8_0;
  using Act = ActQ8_0;
  static constexpr int64_t kBlock = 32;
  template <class Dot>
  static void acc(const W& x, const Act& a, float& sum) {
    const int8x16_t table = vld1q_s8(kIq4nlValues);
    const uint8x16_t raw = vld1q_u8(x.qs);
    const int8x16_t lo = vqtbl1q_s8(table, vandq_u8(raw, vdupq_n_u8(0x0F)));
    const int8x16_t hi = vqtbl1q_s8(table, vshrq_n_u8(raw, 4));
    const int32x4_t p = Dot::dot(Dot::dot(vdupq_n_s32(0), lo, a.lo), hi, a.hi);
    sum += (a.d * fp16_to_fp32(x.d)) * float(vaddvq_s32(p));
  }
};

// ---- k-quants (256-element super-blocks, Q8_K activations) -----------------------------------

// Σ_j m_j·(bsums[2j] + bsums[2j+1]) for eight 6-bit (or smaller) mins m.
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

struct KQ4_K {
  using W = BlockQ4K;
  using A = BlockQ8K;
  using Act = ActQ8K;
  static constexpr int64_t kBlock = 256;
  template <class Dot>
  static void acc(const W& x, const Act& a, float& sum) {
    uint8_t sc[8], m[8];
    k4_scales(x.scales, sc, m);
    const uint8x16_t mask = vdupq_n_u8(0x0F);
    int32x4_t acc = vdupq_n_s32(0);
    for (int c = 0; c < 4; ++c) {
      const uint8x16_t r0 = vld1q_u8(x.qs + 32 * c), r1 = vld1q_u8(x.qs + 32 * c + 16);
      const int32x4_t lo = Dot::dot(Dot::dot(vdupq_n_s32(0), s8(vandq_u8(r0, mask)), a.q(4 * c)),
                                    s8(vandq_u8(r1, mask)), a.q(4 * c + 1));
      const int32x4_t hi = Dot::dot(Dot::dot(vdupq_n_s32(0), s8(vshrq_n_u8(r0, 4)), a.q(4 * c + 2)),
                                    s8(vshrq_n_u8(r1, 4)), a.q(4 * c + 3));
      acc = vmlaq_n_s32(acc, lo, sc[2 * c]);
      acc = vmlaq_n_s32(acc, hi, sc[2 * c + 1]);
    }
    const int32_t sum_q = vaddvq_s32(acc);
    const int32_t sum_mins = mins_dot_pairs(a, vld1_u8(m));
    const float dall = a.d * fp16_to_fp32(x.d);
    const float dmin = a.d * fp16_to_fp32(x.dmin);
    sum += dall * float(sum_q) - dmin * float(sum_mins);
  }
};

struct KQ5_K {
  using W = BlockQ5K;
  using A = BlockQ8K;
  using Act = ActQ8K;
  static constexpr int64_t kBlock = 256;
  template <class Dot>
  static void acc(const W& x, const Act& a, float& sum) {
    uint8_t sc[8], m[8];
    k4_scales(x.scales, sc, m);
    const uint8x16_t mask = vdupq_n_u8(0x0F), one = vdupq_n_u8(1);
    // qh bit j of byte l is bit 4 of element 32j + l: peel one bit per 32-element sub-block.
    uint8x16_t h0 = vld1q_u8(x.qh), h1 = vld1q_u8(x.qh + 16);
    int32x4_t acc = vdupq_n_s32(0);
    for (int c = 0; c < 4; ++c) {
      const uint8x16_t r0 = vld1q_u8(x.qs + 32 * c), r1 = vld1q_u8(x.qs + 32 * c + 16);
      const int8x16_t l0 = s8(vorrq_u8(vandq_u8(r0, mask), vshlq_n_u8(vandq_u8(h0, one), 4)));
      const int8x16_t l1 = s8(vorrq_u8(vandq_u8(r1, mask), vshlq_n_u8(vandq_u8(h1, one), 4)));
      h0 = vshrq_n_u8(h0, 1);
      h1 = vshrq_n_u8(h1, 1);
      const int8x16_t u0 = s8(vorrq_u8(vshrq_n_u8(r0, 4), vshlq_n_u8(vandq_u8(h0, one), 4)));
      const int8x16_t u1 = s8(vorrq_u8(vshrq_n_u8(r1, 4), vshlq_n_u8(vandq_u8(h1, one), 4)));
      h0 = vshrq_n_u8(h0, 1);
      h1 = vshrq_n_u8(h1, 1);
      const int32x4_t lo = Dot::dot(Dot::dot(vdupq_n_s32(0), l0, a.q(4 * c)), l1, a.q(4 * c + 1));
      const int32x4_t hi = Dot::dot(Dot::dot(vdupq_n_s32(0), u0, a.q(4 * c + 2)), u1, a.q(4 * c + 3));
      acc = vmlaq_n_s32(acc, lo, sc[2 * c]);
      acc = vmlaq_n_s32(acc, hi, sc[2 * c + 1]);
    }
    const int32_t sum_q = vaddvq_s32(acc);
    const int32_t sum_mins = mins_dot_pairs(a, vld1_u8(m));
    const float dall = a.d * fp16_to_fp32(x.d);
    const float dmin = a.d * fp16_to_fp32(x.dmin);
    sum += dall * float(sum_q) - dmin * float(sum_mins);
  }
};

struct KQ6_K {
  using W = BlockQ6K;
  using A = BlockQ8K;
  using Act = ActQ8K;
  static constexpr int64_t kBlock = 256;
  template <class Dot>
  static void acc(const W& x, const Act& a, float& sum) {
    const uint8x16_t mask4 = vdupq_n_u8(0x0F), mask2 = vdupq_n_u8(0x03);
    const int8x16_t off = vdupq_n_s8(32);
    int32x4_t acc = vdupq_n_s32(0);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = x.ql + 64 * h;
      const uint8_t* qh = x.qh + 32 * h;
      const uint8x16_t L[4] = {vld1q_u8(ql), vld1q_u8(ql + 16), vld1q_u8(ql + 32), vld1q_u8(ql + 48)};
      const uint8x16_t H[2] = {vld1q_u8(qh), vld1q_u8(qh + 16)};
      // Element 128h + 32k + 16s + i is one vector lane i; its 16-element sub-block is 8h + 2k + s.
      for (int k = 0; k < 4; ++k) {
        for (int s = 0; s < 2; ++s) {
          const uint8x16_t lbyte = L[2 * (k % 2) + s];
          const uint8x16_t low = k < 2 ? vandq_u8(lbyte, mask4) : vshrq_n_u8(lbyte, 4);
          const uint8x16_t high = vandq_u8(vshlq_u8(H[s], vdupq_n_s8(int8_t(-2 * k))), mask2);
          const int8x16_t q = vsubq_s8(s8(vorrq_u8(low, vshlq_n_u8(high, 4))), off);
          const int sub = 8 * h + 2 * k + s;
          acc = vmlaq_n_s32(acc, Dot::dot(vdupq_n_s32(0), q, a.q(sub)), x.scales[sub]);
        }
      }
    }
    sum += (fp16_to_fp32(x.d) * a.d) * float(vaddvq_s32(acc));
  }
};

// Q2_K and Q3_K share the 2-bit placement: byte 32h + l, bits 2s, for element 128h + 32s + l.
struct KQ2_K {
  using W = BlockQ2K;
  using A = BlockQ8K;
  using Act = ActQ8K;
  static constexpr int64_t kBlock = 256;
  template <class Dot>
  static void acc(const W& x, const Act& a, float& sum) {
    const uint8x16_t scales = vld1q_u8(x.scales);
    uint8_t sc[16];
    vst1q_u8(sc, vandq_u8(scales, vdupq_n_u8(0x0F)));
    const uint8x16_t mins = vshrq_n_u8(scales, 4);
    const int16x8_t m_lo = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(mins)));
    const int16x8_t m_hi = vreinterpretq_s16_u16(vmovl_high_u8(mins));
    int32x4_t mm = vmull_s16(vget_low_s16(a.bs_lo), vget_low_s16(m_lo));
    mm = vmlal_high_s16(mm, a.bs_lo, m_lo);
    mm = vmlal_s16(mm, vget_low_s16(a.bs_hi), vget_low_s16(m_hi));
    mm = vmlal_high_s16(mm, a.bs_hi, m_hi);
    const int32_t sum_mins = vaddvq_s32(mm);
    const uint8x16_t mask2 = vdupq_n_u8(0x03);
    int32x4_t acc = vdupq_n_s32(0);
    for (int h = 0; h < 2; ++h) {
      const uint8x16_t Q[2] = {vld1q_u8(x.qs + 32 * h), vld1q_u8(x.qs + 32 * h + 16)};
      for (int s = 0; s < 4; ++s) {
        for (int half = 0; half < 2; ++half) {
          const int8x16_t q = s8(vandq_u8(vshlq_u8(Q[half], vdupq_n_s8(int8_t(-2 * s))), mask2));
          const int sub = 8 * h + 2 * s + half;
          acc = vmlaq_n_s32(acc, Dot::dot(vdupq_n_s32(0), q, a.q(sub)), sc[sub]);
        }
      }
    }
    const int32_t sum_q = vaddvq_s32(acc);
    const float dall = a.d * fp16_to_fp32(x.d);
    const float dmin = a.d * fp16_to_fp32(x.dmin);
    sum += dall * float(sum_q) - dmin * float(sum_mins);
  }
};

// Q3_K's sixteen 6-bit scales, minus 32 (formats.md B.4).
inline int8x16_t q3k_scales(const uint8_t* b) {
  const uint8x8_t b07 = vld1_u8(b);
  const uint8x16_t low = vcombine_u8(vand_u8(b07, vdup_n_u8(0x0F)), vshr_n_u8(b07, 4));
  uint8_t hb[16];
  std::memcpy(hb, b + 8, 4);
  std::memcpy(hb + 4, b + 8, 4);
  std::memcpy(hb + 8, b + 8, 4);
  std::memcpy(hb + 12, b + 8, 4);
  static const int8_t kShift[16] = {0, 0, 0, 0, -2, -2, -2, -2, -4, -4, -4, -4, -6, -6, -6, -6};
  const uint8x16_t high = vandq_u8(vshlq_u8(vld1q_u8(hb), vld1q_s8(kShift)), vdupq_n_u8(0x03));
  return vsubq_s8(s8(vorrq_u8(low, vshlq_n_u8(high, 4))), vdupq_n_s8(32));
}

struct KQ3_K {
  using W = BlockQ3K;
  using A = BlockQ8K;
  using Act = ActQ8K;
  static constexpr int64_t kBlock = 256;
  template <class Dot>
  static void acc(const W& x, const Act& a, float& sum) {
    int8_t sc[16];
    vst1q_s8(sc, q3k_scales(x.scales));
    const uint8x16_t mask2 = vdupq_n_u8(0x03), one = vdupq_n_u8(1);
    const int8x16_t four = vdupq_n_s8(4);
    // hmask bit j of byte l belongs to element 32j + l: peel one bit per 32 elements.
    uint8x16_t M[2] = {vld1q_u8(x.hmask), vld1q_u8(x.hmask + 16)};
    int32x4_t acc = vdupq_n_s32(0);
    for (int h = 0; h < 2; ++h) {
      const uint8x16_t Q[2] = {vld1q_u8(x.qs + 32 * h), vld1q_u8(x.qs + 32 * h + 16)};
      for (int s = 0; s < 4; ++s) {
        for (int half = 0; half < 2; ++half) {
          const uint8x16_t lo2 = vandq_u8(vshlq_u8(Q[half], vdupq_n_s8(int8_t(-2 * s))), mask2);
          const uint8x16_t hb = vshlq_n_u8(vandq_u8(M[half], one), 2);
          M[half] = vshrq_n_u8(M[half], 1);
          const int8x16_t q = vsubq_s8(s8(vorrq_u8(lo2, hb)), four);
          const int sub = 8 * h + 2 * s + half;
          acc = vmlaq_n_s32(acc, Dot::dot(vdupq_n_s32(0), q, a.q(sub)), sc[sub]);
        }
      }
    }
    sum += (fp16_to_fp32(x.d) * a.d) * float(vaddvq_s32(acc));
  }
};

struct KIQ4_XS {
  using W = BlockIQ4XS;
  using A = BlockQ8K;
  using Act = ActQ8K;
  static constexpr int64_t kBlock = 256;
  template <class Dot>
  static void acc(const W& x, const Act& a, float& sum) {
    const int8x16_t table = vld1q_s8(kIq4nlValues);
    const float d4d8 = fp16_to_fp32(x.d) * a.d;
    for (int ib = 0; ib < 8; ++ib) {
      const int ls = ((x.scales_l[ib / 2] >> (4 * (ib % 2))) & 0x0F) | (((x.scales_h >> (2 * ib)) & 3) << 4);
      const uint8x16_t raw = vld1q_u8(x.qs + 16 * ib);
      const int8x16_t lo = vqtbl1q_s8(table, vandq_u8(raw, vdupq_n_u8(0x0F)));
      const int8x16_t hi = vqtbl1q_s8(table, vshrq_n_u8(raw, 4));
      const int32x4_t p = Dot::dot(Dot::dot(vdupq_n_s32(0), lo, a.q(2 * ib)), hi, a.q(2 * ib + 1));
      sum += (d4d8 * float(ls - 32)) * float(vaddvq_s32(p));
    }
  }
};

// ---- row loops -------------------------------------------------------------------------------

// R weight rows (ws bytes apart) times one activation row of nb blocks; each activation block is
// loaded once for all R rows. Per row, the operations are those of R = 1.
template <class K, class Dot, int R>
inline void block_rows(int64_t nb, const uint8_t* w, size_t ws, const void* act, float* out) {
  const auto* y = static_cast<const typename K::A*>(act);
  const typename K::W* x[R];
  for (int r = 0; r < R; ++r) x[r] = reinterpret_cast<const typename K::W*>(w + size_t(r) * ws);
  float sum[R];
  for (int r = 0; r < R; ++r) sum[r] = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const typename K::Act a = K::Act::load(y[b]);
    for (int r = 0; r < R; ++r) K::template acc<Dot>(x[r][b], a, sum[r]);
  }
  for (int r = 0; r < R; ++r) out[r] = sum[r];
}

template <class K, class Dot>
float block_vec_dot(int64_t n, const void* x, const void* y) {
  float out;
  block_rows<K, Dot, 1>(n / K::kBlock, static_cast<const uint8_t*>(x), 0, y, &out);
  return out;
}

template <class K, class Dot>
void block_mul_rows(const MatmulTile& t) {
  constexpr int R = 4;
  const int64_t nb = t.k / K::kBlock;
  for (int tok = 0; tok < t.n_tok; ++tok) {
    const uint8_t* a = t.act + size_t(tok) * t.act_stride;
    float* y = t.y + size_t(tok) * t.ldy;
    int64_t r = 0;
    for (; r + R <= t.n_rows; r += R) block_rows<K, Dot, R>(nb, t.w + size_t(r) * t.w_stride, t.w_stride, a, y + r);
    for (; r < t.n_rows; ++r) block_rows<K, Dot, 1>(nb, t.w + size_t(r) * t.w_stride, t.w_stride, a, y + r);
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
