// NEON dotprod prefill GEMM (ARMv8.2-A +dotprod): weight rows unpacked once per tile into an int8
// panel, then an `sdot`-by-lane micro-kernel over all tokens.
//
// Layout. A micro-tile is 8 rows: two lane groups of 4 rows, one int32 lane per row. For every 16
// elements (a "chunk") the panel holds 4 vectors per lane group, vector c = the 4 rows' elements
// 4c..4c+3, so `sdot v.4s, w_c.16b, a.4b[c]` adds 4 elements of 4 rows against one token's 16-byte
// activation load. Levels stay signed (Q4_0 −8..7, IQ4 −127..113, Q6_K −32..31, ...): no offsets.
//
// Exactness. Every block's integer sum is exact, and the float side repeats the scalar reference's
// operations per (row, token) in the same order (each lane is one row; no fused multiply-adds), so
// every result equals the reference vec_dot bit for bit, like the NEON decode kernels; a row's
// value cannot depend on the tile or token count it ran in.
//
// Work per 32-element block per (row, token), inner loop (4 rows × 4 tokens share each load):
// Q4_0/Q5_0/IQ4_NL ≈ 2 sdot + 0.25 movi + 1 scvtf/fmul/fmul/fadd ≈ 3.6 instructions (plus
// 0.75 loads), against ≈ 12 in the decode tile (unpack shared by 4 tokens, 2 sdot, addv, scalar float).
// Q8_0 weights are left to the decode kernels.
#include "quant/kernels.h"

#if defined(__aarch64__)

#include <arm_neon.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "common/fp16.h"
#include "quant/gemm_isa.h"
#include "quant/simd_neon.h"

namespace kq {
namespace {

constexpr int kGroupRows = 4;   // rows per int32x4 (one lane each)
constexpr int kMicro = 8;       // rows per micro-tile: two lane groups
constexpr int kTileRows = 64;   // rows per gemm tile
constexpr int kTok = 4;         // tokens per micro-kernel call
constexpr size_t kChunkBytes = 16 * kMicro;  // one 16-element chunk of a micro-tile
constexpr size_t kAlign = 64;

size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// ---- packing --------------------------------------------------------------------------------

// Four rows' 16 elements (one vector per row) to the panel's chunk layout: vector c holds the rows'
// elements 4c..4c+3, stored at out + 32c (the other lane group fills out + 32c + 16).
inline void store_chunk(const int8x16_t v[kGroupRows], int8_t* out) {
  const int32x4_t a = vreinterpretq_s32_s8(v[0]), b = vreinterpretq_s32_s8(v[1]);
  const int32x4_t c = vreinterpretq_s32_s8(v[2]), d = vreinterpretq_s32_s8(v[3]);
  const int64x2_t ab0 = vreinterpretq_s64_s32(vtrn1q_s32(a, b)), ab1 = vreinterpretq_s64_s32(vtrn2q_s32(a, b));
  const int64x2_t cd0 = vreinterpretq_s64_s32(vtrn1q_s32(c, d)), cd1 = vreinterpretq_s64_s32(vtrn2q_s32(c, d));
  vst1q_s8(out, vreinterpretq_s8_s64(vzip1q_s64(ab0, cd0)));
  vst1q_s8(out + 32, vreinterpretq_s8_s64(vzip1q_s64(ab1, cd1)));
  vst1q_s8(out + 64, vreinterpretq_s8_s64(vzip2q_s64(ab0, cd0)));
  vst1q_s8(out + 96, vreinterpretq_s8_s64(vzip2q_s64(ab1, cd1)));
}

// q[r][i]: row r's elements 16i..16i+15 for n_chunks chunks, 8 rows → the micro-tile's chunks.
inline void store_chunks(const int8x16_t (*q)[16], int n_chunks, int8_t* out) {
  for (int i = 0; i < n_chunks; ++i) {
    for (int g = 0; g < kMicro / kGroupRows; ++g) {
      const int8x16_t v[kGroupRows] = {q[4 * g][i], q[4 * g + 1][i], q[4 * g + 2][i], q[4 * g + 3][i]};
      store_chunk(v, out + kChunkBytes * size_t(i) + 16 * g);
    }
  }
}

// ---- the integer step -----------------------------------------------------------------------

// s[g][t] += the 16-element chunk at pw (both lane groups) times token t's 16 activations av[t].
template <int T>
inline void chunk_dots(const int8_t* pw, const int8x16_t (&av)[T], int32x4_t (&s)[2][T]) {
#pragma GCC unroll 2
  for (int g = 0; g < 2; ++g) {
    const int8x16_t w0 = vld1q_s8(pw + 16 * g), w1 = vld1q_s8(pw + 32 + 16 * g);
    const int8x16_t w2 = vld1q_s8(pw + 64 + 16 * g), w3 = vld1q_s8(pw + 96 + 16 * g);
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
      int32x4_t x = vdotq_laneq_s32(s[g][t], w0, av[t], 0);
      x = vdotq_laneq_s32(x, w1, av[t], 1);
      x = vdotq_laneq_s32(x, w2, av[t], 2);
      s[g][t] = vdotq_laneq_s32(x, w3, av[t], 3);
    }
  }
}

template <int T>
inline void store_rows(const float32x4_t (&acc)[2][T], float* y, size_t ldy, int n_rows) {
  for (int t = 0; t < T; ++t) {
    if (n_rows >= kMicro) {
      vst1q_f32(y + size_t(t) * ldy, acc[0][t]);
      vst1q_f32(y + size_t(t) * ldy + 4, acc[1][t]);
    } else {
      float tmp[kMicro];
      vst1q_f32(tmp, acc[0][t]);
      vst1q_f32(tmp + 4, acc[1][t]);
      std::memcpy(y + size_t(t) * ldy, tmp, sizeof(float) * size_t(n_rows));
    }
  }
}

// Tiles larger than the scratch was sized for are run kTileRows rows at a time.
template <void (*kRun)(const MatmulTile&)>
void in_row_chunks(const MatmulTile& t) {
  for (int64_t r0 = 0; r0 < t.n_rows; r0 += kTileRows) {
    MatmulTile c = t;
    c.w = t.w + size_t(r0) * t.w_stride;
    c.n_rows = std::min<int64_t>(kTileRows, t.n_rows - r0);
    c.y = t.y + r0;
    kRun(c);
  }
}

// ---------------------------------------------------------------------------------------------
// Legacy 32-element blocks with Q8_0 / Q8_1 activations.

// How the reference folds a block's integer sum s into the row sum (per row, per token).
enum class Fold {
  kSumFirst,     // Q4_0:          sum += float(s) · d_w · d_a
  kScaleFirst,   // Q5_0, IQ4_NL:  sum += (d_w · d_a) · float(s)
  kScaleMin,     // Q4_1, Q5_1:    sum += (d_w · d_a) · float(s) + m_w · s_a
};

template <class K>
struct LegacyInfo;
template <>
struct LegacyInfo<neon::KQ4_0> { static constexpr Fold kFold = Fold::kSumFirst; };
template <>
struct LegacyInfo<neon::KQ5_0> { static constexpr Fold kFold = Fold::kScaleFirst; };
template <>
struct LegacyInfo<neon::KIQ4_NL> { static constexpr Fold kFold = Fold::kScaleFirst; };
template <>
struct LegacyInfo<neon::KQ4_1> { static constexpr Fold kFold = Fold::kScaleMin; };
template <>
struct LegacyInfo<neon::KQ5_1> { static constexpr Fold kFold = Fold::kScaleMin; };

template <class K>
struct LegacyLayout {
  static constexpr bool kMin = LegacyInfo<K>::kFold == Fold::kScaleMin;
  // Per block, per micro-tile: int8 chunks, then d and m of the 8 rows as f32.
  static constexpr size_t kD = 2 * kChunkBytes;
  static constexpr size_t kM = kD + 4 * kMicro;
  static constexpr size_t kStride = kM + (kMin ? 4 * kMicro : 0);
  // Activation block: Q8_0 {f16 d; qs} or Q8_1 {f16 d; f16 s; qs}.
  static constexpr size_t kActQs = kMin ? 4 : 2;
  static constexpr size_t kActBlock = sizeof(typename K::A);

  static size_t panel_bytes(int64_t k) { return align_up(size_t(kTileRows / kMicro) * size_t(k / 32) * kStride); }
  // Per token block: each block's d_a (and s_a) as f32, [block][token].
  static size_t scales_bytes(int64_t k) { return size_t(k / 32) * kTok * 2 * sizeof(float); }
  static size_t scratch(int64_t k) { return panel_bytes(k) + scales_bytes(k) + kAlign; }
};

template <class K>
void pack_legacy_block(const typename K::W* const* rows, int n, int64_t b, uint8_t* p) {
  using L = LegacyLayout<K>;
  int8x16_t q[kMicro][16];
  uint16_t d[kMicro] = {}, m[kMicro] = {};  // fp16 bits, widened 4 rows at a time below
  for (int r = 0; r < kMicro; ++r) {
    if (r < n) {
      const typename K::Wq w = K::unpack(rows[r][b]);
      q[r][0] = w.lo;
      q[r][1] = w.hi;
      d[r] = rows[r][b].d;
      if constexpr (L::kMin) m[r] = rows[r][b].m;
    } else {
      q[r][0] = q[r][1] = vdupq_n_s8(0);
    }
  }
  store_chunks(q, 2, reinterpret_cast<int8_t*>(p));
  for (int g = 0; g < 2; ++g) {
    vst1q_f32(reinterpret_cast<float*>(p + L::kD) + 4 * g, neon::fp16x4_to_fp32_fcvt(d + 4 * g));
    if constexpr (L::kMin) vst1q_f32(reinterpret_cast<float*>(p + L::kM) + 4 * g, neon::fp16x4_to_fp32_fcvt(m + 4 * g));
  }
}

// ascale: [block][kTok] pairs (d_a, s_a) of this token block.
template <class K, int T>
void micro_legacy(const uint8_t* panel, int64_t nb, const uint8_t* act, size_t as, const float* ascale, float* y,
                  size_t ldy, int n_rows) {
  using L = LegacyLayout<K>;
  constexpr Fold kFold = LegacyInfo<K>::kFold;
  float32x4_t acc[2][T];
  for (int g = 0; g < 2; ++g)
    for (int t = 0; t < T; ++t) acc[g][t] = vdupq_n_f32(0.0f);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* p = panel + size_t(b) * L::kStride;
    const int8_t* qa = reinterpret_cast<const int8_t*>(act + size_t(b) * L::kActBlock + L::kActQs);
    int32x4_t s[2][T];
    for (int g = 0; g < 2; ++g)
      for (int t = 0; t < T; ++t) s[g][t] = vdupq_n_s32(0);
#pragma GCC unroll 2
    for (int i = 0; i < 2; ++i) {
      int8x16_t av[T];
      for (int t = 0; t < T; ++t) av[t] = vld1q_s8(qa + size_t(t) * as + 16 * i);
      chunk_dots<T>(reinterpret_cast<const int8_t*>(p) + kChunkBytes * i, av, s);
    }
    const float* sc = ascale + size_t(b) * kTok * 2;
#pragma GCC unroll 2
    for (int g = 0; g < 2; ++g) {
      const float32x4_t wd = vld1q_f32(reinterpret_cast<const float*>(p + L::kD) + 4 * g);
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        const float32x4_t sf = vcvtq_f32_s32(s[g][t]);
        const float da = sc[2 * t];
        float32x4_t x;
        if constexpr (kFold == Fold::kSumFirst) {
          x = vmulq_n_f32(vmulq_f32(sf, wd), da);
        } else {
          x = vmulq_f32(vmulq_n_f32(wd, da), sf);
        }
        if constexpr (kFold == Fold::kScaleMin) {
          const float32x4_t wm = vld1q_f32(reinterpret_cast<const float*>(p + L::kM) + 4 * g);
          x = vaddq_f32(x, vmulq_n_f32(wm, sc[2 * t + 1]));
        }
        acc[g][t] = vaddq_f32(acc[g][t], x);
      }
    }
  }
  store_rows<T>(acc, y, ldy, n_rows);
}

template <class K, int T>
void micro_legacy_n(int n, const uint8_t* panel, int64_t nb, const uint8_t* act, size_t as, const float* ascale,
                    float* y, size_t ldy, int n_rows) {
  if constexpr (T > 0) {
    if (n == T) return micro_legacy<K, T>(panel, nb, act, as, ascale, y, ldy, n_rows);
    micro_legacy_n<K, T - 1>(n, panel, nb, act, as, ascale, y, ldy, n_rows);
  }
}

template <class K>
void gemm_legacy_rows(const MatmulTile& t) {
  using L = LegacyLayout<K>;
  const int64_t nb = t.k / 32;
  const int64_t n_micro = (t.n_rows + kMicro - 1) / kMicro;
  const size_t micro_bytes = size_t(nb) * L::kStride;
  for (int64_t m = 0; m < n_micro; ++m) {
    const int n = int(std::min<int64_t>(kMicro, t.n_rows - m * kMicro));
    const typename K::W* rows[kMicro];
    for (int r = 0; r < n; ++r) rows[r] = reinterpret_cast<const typename K::W*>(t.w + size_t(m * kMicro + r) * t.w_stride);
    for (int64_t b = 0; b < nb; ++b) pack_legacy_block<K>(rows, n, b, t.scratch + size_t(m) * micro_bytes + size_t(b) * L::kStride);
  }
  float* ascale = reinterpret_cast<float*>(t.scratch + L::panel_bytes(t.k));
  for (int t0 = 0; t0 < t.n_tok; t0 += kTok) {
    const int nt = std::min(kTok, t.n_tok - t0);
    const uint8_t* act = t.act + size_t(t0) * t.act_stride;
    for (int i = 0; i < nt; ++i) {
      const auto* blocks = reinterpret_cast<const typename K::A*>(act + size_t(i) * t.act_stride);
      for (int64_t b = 0; b < nb; ++b) {
        const typename K::Act a = K::Act::load(blocks[b]);
        ascale[size_t(b) * kTok * 2 + 2 * size_t(i)] = a.d;
        if constexpr (L::kMin) ascale[size_t(b) * kTok * 2 + 2 * size_t(i) + 1] = a.s;
      }
    }
    for (int64_t m = 0; m < n_micro; ++m) {
      const int n = int(std::min<int64_t>(kMicro, t.n_rows - m * kMicro));
      micro_legacy_n<K, kTok>(nt, t.scratch + size_t(m) * micro_bytes, nb, act, t.act_stride, ascale,
                              t.y + size_t(t0) * t.ldy + m * kMicro, t.ldy, n);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// K-quants and IQ4_XS: 256-element super-blocks with Q8_K activations.

// How a super-block's sub-block sums s_j become the row sum (per row, per token):
enum class SuperFold {
  kMins,      // Q4_K, Q5_K, Q2_K: sum += (d_a·d)·float(Σ sc_j·s_j) − (d_a·dmin)·float(Σ m_j·bsum_j)
  kScaled,    // Q3_K, Q6_K:       sum += (d·d_a)·float(Σ sc_j·s_j)
  kPerGroup,  // IQ4_XS:           sum += ((d·d_a)·float(ls_j))·float(s_j), for each j in order
};

template <class K>
struct SuperInfo;
template <>
struct SuperInfo<neon::KQ4_K> { static constexpr int kGroup = 32; static constexpr SuperFold kFold = SuperFold::kMins; };
template <>
struct SuperInfo<neon::KQ5_K> { static constexpr int kGroup = 32; static constexpr SuperFold kFold = SuperFold::kMins; };
template <>
struct SuperInfo<neon::KQ2_K> { static constexpr int kGroup = 16; static constexpr SuperFold kFold = SuperFold::kMins; };
template <>
struct SuperInfo<neon::KQ3_K> { static constexpr int kGroup = 16; static constexpr SuperFold kFold = SuperFold::kScaled; };
template <>
struct SuperInfo<neon::KQ6_K> { static constexpr int kGroup = 16; static constexpr SuperFold kFold = SuperFold::kScaled; };
template <>
struct SuperInfo<neon::KIQ4_XS> { static constexpr int kGroup = 32; static constexpr SuperFold kFold = SuperFold::kPerGroup; };

// Q2_K's levels (0..3) times its scales (0..15) fit in int8, so its panel holds w·sc and the
// sub-block sums need no scaling step (the integer total is the same).
template <class K>
constexpr bool kPrescaled = std::is_same_v<K, neon::KQ2_K>;

// One row's super-block as the panel needs it.
struct SuperRow {
  int8x16_t q[16];
  int32_t sc[16];
  int16_t m[16];
};

inline void super_row(const neon::WqK4& w, SuperRow& out) {
  for (int j = 0; j < 16; ++j) out.q[j] = w.q[j];
  for (int j = 0; j < 8; ++j) {
    out.sc[j] = w.sc[j];
    out.m[j] = int16_t(w.m[j]);
  }
}

inline void super_row(const neon::WqK16& w, SuperRow& out, bool prescale) {
  for (int j = 0; j < 16; ++j) {
    out.q[j] = prescale ? vmulq_s8(w.q[j], vdupq_n_s8(w.sc[j])) : w.q[j];
    out.sc[j] = w.sc[j];
    out.m[j] = int16_t(w.m[j]);
  }
}

inline void super_row(const neon::KIQ4_XS::Wq& w, SuperRow& out) {
  for (int j = 0; j < 16; ++j) out.q[j] = w.q[j];
  for (int j = 0; j < 8; ++j) out.sc[j] = w.ls[j];
}

template <class K>
struct SuperLayout {
  static constexpr int kGroup = SuperInfo<K>::kGroup;
  static constexpr int kGroups = 256 / kGroup;
  static constexpr SuperFold kFold = SuperInfo<K>::kFold;
  // Per super-block, per micro-tile: int8 chunks; per sub-block the 8 rows' scales (int32, or f32
  // for IQ4_XS) and mins (int16); d and dmin (f32).
  static constexpr size_t kSc = 16 * kChunkBytes;
  static constexpr size_t kMin = kSc + size_t(kGroups) * 4 * kMicro;
  static constexpr size_t kD = kMin + (kFold == SuperFold::kMins ? size_t(kGroups) * 2 * kMicro : 0);
  static constexpr size_t kDmin = kD + 4 * kMicro;
  static constexpr size_t kStride = kDmin + 4 * kMicro;

  static size_t scratch(int64_t k) { return size_t(kTileRows / kMicro) * size_t(k / 256) * kStride + kAlign; }
};

template <class K>
void pack_super_block(const typename K::W* const* rows, int n, int64_t sb, uint8_t* p) {
  using L = SuperLayout<K>;
  SuperRow lv[kMicro];
  uint16_t d[kMicro] = {}, dmin[kMicro] = {};  // fp16 bits, widened 4 rows at a time below
  for (int r = 0; r < kMicro; ++r) {
    if (r < n) {
      d[r] = rows[r][sb].d;
      if constexpr (L::kFold == SuperFold::kMins) dmin[r] = rows[r][sb].dmin;
      if constexpr (std::is_same_v<typename K::Wq, neon::WqK16>) {
        super_row(K::unpack(rows[r][sb]), lv[r], kPrescaled<K>);
      } else {
        super_row(K::unpack(rows[r][sb]), lv[r]);
      }
    } else {
      for (auto& v : lv[r].q) v = vdupq_n_s8(0);
      std::memset(lv[r].sc, 0, sizeof(lv[r].sc));
      std::memset(lv[r].m, 0, sizeof(lv[r].m));
    }
  }
  int8x16_t q[kMicro][16];
  for (int r = 0; r < kMicro; ++r)
    for (int j = 0; j < 16; ++j) q[r][j] = lv[r].q[j];
  store_chunks(q, 16, reinterpret_cast<int8_t*>(p));
  for (int j = 0; j < L::kGroups; ++j) {
    for (int r = 0; r < kMicro; ++r) {
      if constexpr (L::kFold == SuperFold::kPerGroup) {
        const float ls = float(lv[r].sc[j]);
        std::memcpy(p + L::kSc + 4 * (size_t(j) * kMicro + r), &ls, 4);
      } else {
        std::memcpy(p + L::kSc + 4 * (size_t(j) * kMicro + r), &lv[r].sc[j], 4);
      }
      if constexpr (L::kFold == SuperFold::kMins) std::memcpy(p + L::kMin + 2 * (size_t(j) * kMicro + r), &lv[r].m[j], 2);
    }
  }
  for (int g = 0; g < 2; ++g) {
    vst1q_f32(reinterpret_cast<float*>(p + L::kD) + 4 * g, neon::fp16x4_to_fp32_fcvt(d + 4 * g));
    vst1q_f32(reinterpret_cast<float*>(p + L::kDmin) + 4 * g, neon::fp16x4_to_fp32_fcvt(dmin + 4 * g));
  }
}

// Σ_j m_j · b_j over 8 sub-blocks for 4 rows: m points at sub-block 0's 4 mins (int16), the next
// sub-block's 4 are kMicro further; b holds the 8 activation sums.
inline int32x4_t mins_dot8(int32x4_t acc, const int16_t* m, int16x8_t b) {
  acc = vmlal_laneq_s16(acc, vld1_s16(m), b, 0);
  acc = vmlal_laneq_s16(acc, vld1_s16(m + kMicro), b, 1);
  acc = vmlal_laneq_s16(acc, vld1_s16(m + 2 * kMicro), b, 2);
  acc = vmlal_laneq_s16(acc, vld1_s16(m + 3 * kMicro), b, 3);
  acc = vmlal_laneq_s16(acc, vld1_s16(m + 4 * kMicro), b, 4);
  acc = vmlal_laneq_s16(acc, vld1_s16(m + 5 * kMicro), b, 5);
  acc = vmlal_laneq_s16(acc, vld1_s16(m + 6 * kMicro), b, 6);
  return vmlal_laneq_s16(acc, vld1_s16(m + 7 * kMicro), b, 7);
}

template <class K, int T>
void micro_super(const uint8_t* panel, int64_t nsb, const uint8_t* act, size_t as, float* y, size_t ldy, int n_rows) {
  using L = SuperLayout<K>;
  constexpr int kChunks = L::kGroup / 16;  // chunks per sub-block
  float32x4_t acc[2][T];
  for (int g = 0; g < 2; ++g)
    for (int t = 0; t < T; ++t) acc[g][t] = vdupq_n_f32(0.0f);
  for (int64_t sb = 0; sb < nsb; ++sb) {
    const uint8_t* p = panel + size_t(sb) * L::kStride;
    const BlockQ8K* a[T];
    for (int t = 0; t < T; ++t) a[t] = reinterpret_cast<const BlockQ8K*>(act + size_t(t) * as) + sb;
    float da[T];
    for (int t = 0; t < T; ++t) da[t] = a[t]->d;
    float32x4_t dd[2][T];  // d_w · d_a (the reference's operand order; the product commutes exactly)
    for (int g = 0; g < 2; ++g) {
      const float32x4_t wd = vld1q_f32(reinterpret_cast<const float*>(p + L::kD) + 4 * g);
      for (int t = 0; t < T; ++t) dd[g][t] = vmulq_n_f32(wd, da[t]);
    }
    int32x4_t total[2][T];
    for (int g = 0; g < 2; ++g)
      for (int t = 0; t < T; ++t) total[g][t] = vdupq_n_s32(0);
    for (int j = 0; j < L::kGroups; ++j) {
      int32x4_t s[2][T];
      for (int g = 0; g < 2; ++g)
        for (int t = 0; t < T; ++t) s[g][t] = kPrescaled<K> ? total[g][t] : vdupq_n_s32(0);
#pragma GCC unroll 2
      for (int i = 0; i < kChunks; ++i) {
        const int chunk = j * kChunks + i;
        int8x16_t av[T];
        for (int t = 0; t < T; ++t) av[t] = vld1q_s8(a[t]->qs + 16 * chunk);
        chunk_dots<T>(reinterpret_cast<const int8_t*>(p) + kChunkBytes * size_t(chunk), av, s);
      }
      for (int g = 0; g < 2; ++g) {
        if constexpr (kPrescaled<K>) {
          for (int t = 0; t < T; ++t) total[g][t] = s[g][t];
        } else if constexpr (L::kFold == SuperFold::kPerGroup) {
          const float32x4_t ls = vld1q_f32(reinterpret_cast<const float*>(p + L::kSc) + kMicro * j + 4 * g);
          for (int t = 0; t < T; ++t)
            acc[g][t] = vaddq_f32(acc[g][t], vmulq_f32(vmulq_f32(dd[g][t], ls), vcvtq_f32_s32(s[g][t])));
        } else {
          const int32x4_t sc = vld1q_s32(reinterpret_cast<const int32_t*>(p + L::kSc) + kMicro * j + 4 * g);
          for (int t = 0; t < T; ++t) total[g][t] = vmlaq_s32(total[g][t], s[g][t], sc);
        }
      }
    }
    if constexpr (L::kFold == SuperFold::kPerGroup) continue;
    for (int g = 0; g < 2; ++g) {
      if constexpr (L::kFold == SuperFold::kMins) {
        const int16_t* m = reinterpret_cast<const int16_t*>(p + L::kMin) + 4 * g;
        const float32x4_t wdmin = vld1q_f32(reinterpret_cast<const float*>(p + L::kDmin) + 4 * g);
        for (int t = 0; t < T; ++t) {
          const int16x8_t b0 = vld1q_s16(a[t]->bsums), b1 = vld1q_s16(a[t]->bsums + 8);
          int32x4_t mins;
          if constexpr (L::kGroup == 32) {
            mins = mins_dot8(vdupq_n_s32(0), m, vpaddq_s16(b0, b1));  // pair sums: |.| <= 32·128
          } else {
            mins = mins_dot8(mins_dot8(vdupq_n_s32(0), m, b0), m + 8 * kMicro, b1);
          }
          const float32x4_t dmin = vmulq_n_f32(wdmin, da[t]);
          const float32x4_t x = vsubq_f32(vmulq_f32(dd[g][t], vcvtq_f32_s32(total[g][t])),
                                          vmulq_f32(dmin, vcvtq_f32_s32(mins)));
          acc[g][t] = vaddq_f32(acc[g][t], x);
        }
      } else {
        for (int t = 0; t < T; ++t) acc[g][t] = vaddq_f32(acc[g][t], vmulq_f32(dd[g][t], vcvtq_f32_s32(total[g][t])));
      }
    }
  }
  store_rows<T>(acc, y, ldy, n_rows);
}

template <class K, int T>
void micro_super_n(int n, const uint8_t* panel, int64_t nsb, const uint8_t* act, size_t as, float* y, size_t ldy,
                   int n_rows) {
  if constexpr (T > 0) {
    if (n == T) return micro_super<K, T>(panel, nsb, act, as, y, ldy, n_rows);
    micro_super_n<K, T - 1>(n, panel, nsb, act, as, y, ldy, n_rows);
  }
}

template <class K>
void gemm_super_rows(const MatmulTile& t) {
  using L = SuperLayout<K>;
  const int64_t nsb = t.k / 256;
  const int64_t n_micro = (t.n_rows + kMicro - 1) / kMicro;
  const size_t micro_bytes = size_t(nsb) * L::kStride;
  for (int64_t m = 0; m < n_micro; ++m) {
    const int n = int(std::min<int64_t>(kMicro, t.n_rows - m * kMicro));
    const typename K::W* rows[kMicro];
    for (int r = 0; r < n; ++r) rows[r] = reinterpret_cast<const typename K::W*>(t.w + size_t(m * kMicro + r) * t.w_stride);
    for (int64_t sb = 0; sb < nsb; ++sb) pack_super_block<K>(rows, n, sb, t.scratch + size_t(m) * micro_bytes + size_t(sb) * L::kStride);
  }
  for (int t0 = 0; t0 < t.n_tok; t0 += kTok) {
    const int nt = std::min(kTok, t.n_tok - t0);
    for (int64_t m = 0; m < n_micro; ++m) {
      const int n = int(std::min<int64_t>(kMicro, t.n_rows - m * kMicro));
      micro_super_n<K, kTok>(nt, t.scratch + size_t(m) * micro_bytes, nsb, t.act + size_t(t0) * t.act_stride,
                             t.act_stride, t.y + size_t(t0) * t.ldy + m * kMicro, t.ldy, n);
    }
  }
}

// min_tokens: not measured (no ARM hardware here). Packing a row's block costs about one decode
// (row, token) dot, and each token then saves ~3x, so the gemm should win from a few tokens; 8
// leaves the small batches to the decode tiles.
constexpr int kMinTokens = 8;

template <class K>
void install_legacy(KernelTable& table, QType type) {
  TypeKernels& k = table[type];
  k.gemm = in_row_chunks<gemm_legacy_rows<K>>;
  k.gemm_scratch = LegacyLayout<K>::scratch;
  k.gemm_rows = kTileRows;
  k.gemm_min_tokens = kMinTokens;
  k.gemm_name = "neon-dotprod panel";
}

template <class K>
void install_super(KernelTable& table, QType type) {
  TypeKernels& k = table[type];
  k.gemm = in_row_chunks<gemm_super_rows<K>>;
  k.gemm_scratch = SuperLayout<K>::scratch;
  k.gemm_rows = kTileRows;
  k.gemm_min_tokens = kMinTokens;
  k.gemm_name = "neon-dotprod panel";
}

}  // namespace

void fill_gemm_neondot(KernelTable& t) {
  install_legacy<neon::KQ4_0>(t, QType::Q4_0);
  install_legacy<neon::KQ5_0>(t, QType::Q5_0);
  install_legacy<neon::KIQ4_NL>(t, QType::IQ4_NL);
  install_legacy<neon::KQ4_1>(t, QType::Q4_1);
  install_legacy<neon::KQ5_1>(t, QType::Q5_1);
  install_super<neon::KQ4_K>(t, QType::Q4_K);
  install_super<neon::KQ5_K>(t, QType::Q5_K);
  install_super<neon::KQ6_K>(t, QType::Q6_K);
  install_super<neon::KQ2_K>(t, QType::Q2_K);
  install_super<neon::KQ3_K>(t, QType::Q3_K);
  install_super<neon::KIQ4_XS>(t, QType::IQ4_XS);
}

}  // namespace kq

#endif  // __aarch64__
