// Weight-block unpacking for the prefill GEMM: every quantized type as signed 8-bit levels with integer sub-scales.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "common/fp16.h"
#include "quant/iq4_common.h"
#include "quant/iq4_nl.h"
#include "quant/iq4_xs.h"
#include "quant/k_common.h"
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

// The functions are inline so that each ISA's GEMM file compiles (and vectorizes) its own copy.
namespace kq::gemm {

// One 256-element super-block of one row (Q8_K activations):
//   x_e = d · sc[g] · w_e − dmin · m[g],   g = e / group.
// The integer part Σ_g sc[g] · Σ_{e∈g} w_e · a_e equals the scalar reference's sum_q exactly.
struct SuperLevels {
  int8_t w[256];
  int32_t sc[16];  // 256 / group entries used
  int16_t m[16];   // mins (types with a min), else unused
  float d = 0.0f;
  float dmin = 0.0f;
};

// One 32-element block of one row (Q8_0 / Q8_1 activations): x_e = d · w_e + m.
struct LegacyLevels {
  int8_t w[32];
  float d = 0.0f;
  float m = 0.0f;
};

// Q4_K / Q5_K low nibbles: each 32-byte group c holds sub-block 2c (low) and 2c+1 (high).
inline void unpack_nibbles_k4(const uint8_t* qs, int8_t* w) {
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      w[64 * c + l] = int8_t(qs[32 * c + l] & 0x0F);
      w[64 * c + 32 + l] = int8_t(qs[32 * c + l] >> 4);
    }
  }
}

// Q2_K / Q3_K 2-bit levels: byte 32h+l holds elements 128h + 32s + l at bits 2s.
inline void unpack_2bit(const uint8_t* qs, int8_t* w) {
  for (int h = 0; h < 2; ++h) {
    for (int s = 0; s < 4; ++s) {
      for (int l = 0; l < 32; ++l) w[128 * h + 32 * s + l] = int8_t((qs[32 * h + l] >> (2 * s)) & 3);
    }
  }
}

// High-bit plane shared by Q3_K (hmask) and Q5_K (qh): byte e%32, bit e/32; adds `value` where set.
inline void add_bit_plane(const uint8_t* bits, int value, int8_t* w) {
  for (int k = 0; k < 8; ++k) {
    for (int l = 0; l < 32; ++l) w[32 * k + l] = int8_t(w[32 * k + l] + (((bits[l] >> k) & 1) * value));
  }
}

inline void scales_mins_k4(const uint8_t* b, SuperLevels& out) {
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    get_scale_min_k4(j, b, &sc, &m);
    out.sc[j] = sc;
    out.m[j] = m;
  }
}

inline void unpack_super(const BlockQ4K& b, SuperLevels& out) {
  unpack_nibbles_k4(b.qs, out.w);
  scales_mins_k4(b.scales, out);
  out.d = fp16_to_fp32(b.d);
  out.dmin = fp16_to_fp32(b.dmin);
}

inline void unpack_super(const BlockQ5K& b, SuperLevels& out) {
  unpack_nibbles_k4(b.qs, out.w);
  add_bit_plane(b.qh, 16, out.w);
  scales_mins_k4(b.scales, out);
  out.d = fp16_to_fp32(b.d);
  out.dmin = fp16_to_fp32(b.dmin);
}

inline void unpack_super(const BlockQ2K& b, SuperLevels& out) {
  unpack_2bit(b.qs, out.w);
  for (int j = 0; j < 16; ++j) {
    out.sc[j] = b.scales[j] & 0x0F;
    out.m[j] = int16_t(b.scales[j] >> 4);
  }
  out.d = fp16_to_fp32(b.d);
  out.dmin = fp16_to_fp32(b.dmin);
}

inline void unpack_super(const BlockQ3K& b, SuperLevels& out) {
  unpack_2bit(b.qs, out.w);
  for (int e = 0; e < 256; ++e) out.w[e] = int8_t(out.w[e] - 4);  // a set hmask bit means "no −4"
  add_bit_plane(b.hmask, 4, out.w);
  for (int j = 0; j < 16; ++j) out.sc[j] = get_scale_q3k(j, b.scales) - 32;
  out.d = fp16_to_fp32(b.d);
}

inline void unpack_super(const BlockQ6K& b, SuperLevels& out) {
  for (int h = 0; h < 2; ++h) {
    for (int k = 0; k < 4; ++k) {
      const uint8_t* ql = b.ql + 64 * h + 32 * (k % 2);
      const int shift = 4 * (k / 2);
      for (int l = 0; l < 32; ++l) {
        const int low = (ql[l] >> shift) & 0x0F;
        const int high = (b.qh[32 * h + l] >> (2 * k)) & 3;
        out.w[128 * h + 32 * k + l] = int8_t((low | (high << 4)) - 32);
      }
    }
  }
  for (int j = 0; j < 16; ++j) out.sc[j] = b.scales[j];
  out.d = fp16_to_fp32(b.d);
}

inline void unpack_super(const BlockIQ4XS& b, SuperLevels& out) {
  for (int ib = 0; ib < 8; ++ib) {
    const int low = (b.scales_l[ib / 2] >> (4 * (ib % 2))) & 0x0F;
    const int high = (b.scales_h >> (2 * ib)) & 3;
    out.sc[ib] = (low | (high << 4)) - 32;
    for (int j = 0; j < 16; ++j) {
      out.w[32 * ib + j] = kIq4nlValues[b.qs[16 * ib + j] & 0x0F];
      out.w[32 * ib + 16 + j] = kIq4nlValues[b.qs[16 * ib + j] >> 4];
    }
  }
  out.d = fp16_to_fp32(b.d);
}

// Legacy nibbles: element j = lo(qs[j]), element j+16 = hi(qs[j]), minus `offset`.
inline void unpack_nibbles_legacy(const uint8_t* qs, int offset, int8_t* w) {
  for (int j = 0; j < 16; ++j) {
    w[j] = int8_t((qs[j] & 0x0F) - offset);
    w[j + 16] = int8_t((qs[j] >> 4) - offset);
  }
}

// Q5_0 / Q5_1 fifth bit: bit e of the little-endian u32 qh.
inline void add_fifth_bit(const uint8_t* qh, int8_t* w) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  for (int e = 0; e < 32; ++e) w[e] = int8_t(w[e] + int(((bits >> e) & 1) << 4));
}

inline void unpack_legacy(const BlockQ4_0& b, LegacyLevels& out) {
  unpack_nibbles_legacy(b.qs, 8, out.w);
  out.d = fp16_to_fp32(b.d);
}

inline void unpack_legacy(const BlockQ4_1& b, LegacyLevels& out) {
  unpack_nibbles_legacy(b.qs, 0, out.w);
  out.d = fp16_to_fp32(b.d);
  out.m = fp16_to_fp32(b.m);
}

inline void unpack_legacy(const BlockQ5_0& b, LegacyLevels& out) {
  unpack_nibbles_legacy(b.qs, 0, out.w);
  add_fifth_bit(b.qh, out.w);
  for (int e = 0; e < 32; ++e) out.w[e] = int8_t(out.w[e] - 16);
  out.d = fp16_to_fp32(b.d);
}

inline void unpack_legacy(const BlockQ5_1& b, LegacyLevels& out) {
  unpack_nibbles_legacy(b.qs, 0, out.w);
  add_fifth_bit(b.qh, out.w);
  out.d = fp16_to_fp32(b.d);
  out.m = fp16_to_fp32(b.m);
}

inline void unpack_legacy(const BlockQ8_0& b, LegacyLevels& out) {
  std::memcpy(out.w, b.qs, 32);
  out.d = fp16_to_fp32(b.d);
}

inline void unpack_legacy(const BlockIQ4NL& b, LegacyLevels& out) {
  for (int j = 0; j < 16; ++j) {
    out.w[j] = kIq4nlValues[b.qs[j] & 0x0F];
    out.w[j + 16] = kIq4nlValues[b.qs[j] >> 4];
  }
  out.d = fp16_to_fp32(b.d);
}

// Per-type facts the kernels need: block struct, sub-block size, whether a min term exists.
template <class Block>
struct SuperInfo;
template <>
struct SuperInfo<BlockQ4K> { static constexpr int kGroup = 32; static constexpr bool kMin = true; };
template <>
struct SuperInfo<BlockQ5K> { static constexpr int kGroup = 32; static constexpr bool kMin = true; };
template <>
struct SuperInfo<BlockQ2K> { static constexpr int kGroup = 16; static constexpr bool kMin = true; };
template <>
struct SuperInfo<BlockQ3K> { static constexpr int kGroup = 16; static constexpr bool kMin = false; };
template <>
struct SuperInfo<BlockQ6K> { static constexpr int kGroup = 16; static constexpr bool kMin = false; };
template <>
struct SuperInfo<BlockIQ4XS> { static constexpr int kGroup = 32; static constexpr bool kMin = false; };

// Legacy types whose min (m · s_y, Q8_1 activations) adds to the dot product.
template <class Block>
constexpr bool kLegacyMin = std::is_same_v<Block, BlockQ4_1> || std::is_same_v<Block, BlockQ5_1>;

}  // namespace kq::gemm
