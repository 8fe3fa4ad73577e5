// AVX2 prefill GEMM: weight rows unpacked once per tile into an 8-bit panel, maddubs micro-kernel over all tokens.
//
// Layout. Micro-tiles of 8 rows (one ymm of int32 lanes). For every 4 columns the panel holds
// 8 rows × 4 unsigned bytes u = w + offset ≤ 63, so `vpmaddubsw` (u8 × s8 → saturating int16
// pair sums) never saturates: |2 · 63 · 127| < 32768. Several steps are summed in int16 while
// that stays below 32768, then one `vpmaddwd` applies the row's sub-scale and widens to int32.
// Activations are read in place (signed Q8_K / Q8_0 / Q8_0H / Q8_1); the offset and mins are removed
// with the activation's block sums, so every integer sum equals the scalar reference's.
// Q8_0, IQ4_NL and IQ4_XS (levels up to ±128) have no such offset: their panel holds the signed
// levels, and each step multiplies |w| by the activation carrying w's sign (|w| ≤ 128, |a| ≤ 127,
// so a pair is at most 32512) and widens to int32 at once, through the sub-scale where there is one.
// GCC 12 reports its own _mm256_undefined_* idiom (used by the gathers) as (maybe-)uninitialized.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "quant/gemm_pack.h"
#include "quant/gemm_unpack_avx2.h"
#include "quant/kernels.h"
#include "quant/q8_0h.h"
#include "quant/q8_1.h"
#include "quant/q8_k.h"

namespace kq {
namespace {

using gemm::LegacyLevels;
using gemm::SuperInfo;
using gemm::SuperLevels;

constexpr int kLanes = 8;      // rows per micro-tile
constexpr int kTileRows = 64;  // rows per gemm tile
constexpr int kTok = 4;        // tokens per micro-kernel call (16 ymm registers)
constexpr size_t kAlign = 64;

size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

inline int32_t load_i32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Offset making a type's levels unsigned, and the largest unsigned level.
template <class Block>
struct Unsigned;
template <>
struct Unsigned<BlockQ2K> { static constexpr int kOffset = 0, kMax = 3; };
template <>
struct Unsigned<BlockQ3K> { static constexpr int kOffset = 4, kMax = 7; };
template <>
struct Unsigned<BlockQ4K> { static constexpr int kOffset = 0, kMax = 15; };
template <>
struct Unsigned<BlockQ5K> { static constexpr int kOffset = 0, kMax = 31; };
template <>
struct Unsigned<BlockQ6K> { static constexpr int kOffset = 32, kMax = 63; };
template <>
struct Unsigned<BlockQ4_0> { static constexpr int kOffset = 8, kMax = 15; };
template <>
struct Unsigned<BlockQ4_1> { static constexpr int kOffset = 0, kMax = 15; };
template <>
struct Unsigned<BlockQ5_0> { static constexpr int kOffset = 16, kMax = 31; };
template <>
struct Unsigned<BlockQ5_1> { static constexpr int kOffset = 0, kMax = 31; };
// Kept signed (see the top of the file): no offset, levels up to ±128.
template <>
struct Unsigned<BlockQ8_0> { static constexpr int kOffset = 0, kMax = 128; };
template <>
struct Unsigned<BlockIQ4NL> { static constexpr int kOffset = 0, kMax = 128; };
template <>
struct Unsigned<BlockIQ4XS> { static constexpr int kOffset = 0, kMax = 128; };

template <class Block>
constexpr bool kSigned = Unsigned<Block>::kMax > 63;

// |w| · (a with w's sign), pair sums widened to int32 through `scale` (int16 pairs).
inline __m256i signed_step(__m256i w, __m256i abs_w, __m256i a, __m256i scale) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(abs_w, _mm256_sign_epi8(a, w)), scale);
}

// Steps (of 4 columns) whose maddubs results can be summed in int16: each is at most 2 · max · 127.
template <class Block>
constexpr int kInt16Steps = 32767 / (2 * Unsigned<Block>::kMax * 127);

inline __m256i gather_rows(const void* base, int stride, int offset) {
  const __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(stride));
  return _mm256_i32gather_epi32(static_cast<const int*>(base), _mm256_add_epi32(idx, _mm256_set1_epi32(offset)), 1);
}

// ---------------------------------------------------------------------------------------------
// K-quants with Q8_K activations.

template <class Block>
struct SuperLayout {
  static constexpr int kGroup = SuperInfo<Block>::kGroup;
  static constexpr bool kMin = SuperInfo<Block>::kMin;
  static constexpr int kGroups = 256 / kGroup;
  // Per super-block, per micro-tile: u8 weights, int16 sub-scales (twice per lane), int16
  // bsum coefficient pairs (8: one per pair of 16-element activation sums), d, [−dmin].
  static constexpr size_t kW = 0;
  static constexpr size_t kSc = 2048;
  static constexpr size_t kCoef = kSc + 32 * kGroups;
  static constexpr size_t kD = kCoef + 32 * 8;
  static constexpr size_t kDmin = kD + 32;
  static constexpr size_t kStride = kDmin + 32;

  static size_t panel_bytes(int64_t k) { return size_t(kTileRows / kLanes) * size_t(k / 256) * kStride; }
  static size_t scratch(int64_t k) { return panel_bytes(k) + kAlign; }
};

template <class Block>
void pack_super_block(const Block* const* rows, int n, int64_t sb, uint8_t* p) {
  using L = SuperLayout<Block>;
  constexpr int kOff = Unsigned<Block>::kOffset;
  alignas(32) SuperLevels lv[kLanes];
  for (int r = 0; r < n; ++r) gemm::unpack_super_fast(rows[r][sb], lv[r]);
  for (int r = n; r < kLanes; ++r) {
    lv[r] = SuperLevels{};
    std::memset(lv[r].w, -kOff, 256);  // zero weights after the offset
  }
  const __m256i off = _mm256_set1_epi8(char(kOff));
  for (int c = 0; c < 64; ++c)
    _mm256_store_si256(reinterpret_cast<__m256i*>(p + L::kW + 32 * c),
                       _mm256_add_epi8(gather_rows(lv[0].w, sizeof(SuperLevels), 4 * c), off));
  alignas(32) int16_t sc[L::kGroups][kLanes][2];
  alignas(32) int16_t coef[8][kLanes][2];
  alignas(32) float d[kLanes], neg_dmin[kLanes];
  for (int r = 0; r < kLanes; ++r) {
    for (int g = 0; g < L::kGroups; ++g) sc[g][r][0] = sc[g][r][1] = int16_t(lv[r].sc[g]);
    // Coefficient of each 16-element activation sum: the min (factor −dmin) or −offset · scale (factor d).
    for (int h = 0; h < 16; ++h) {
      const int g = h * 16 / L::kGroup;
      coef[h / 2][r][h % 2] = int16_t(L::kMin ? lv[r].m[g] : -kOff * lv[r].sc[g]);
    }
    d[r] = lv[r].d;
    neg_dmin[r] = -lv[r].dmin;
  }
  std::memcpy(p + L::kSc, sc, sizeof(sc));
  std::memcpy(p + L::kCoef, coef, sizeof(coef));
  std::memcpy(p + L::kD, d, sizeof(d));
  std::memcpy(p + L::kDmin, neg_dmin, sizeof(neg_dmin));
}

template <class Block, int T>
void micro_super(const uint8_t* panel, int64_t nsb, const uint8_t* act, size_t as, float* y, size_t ldy, int n_rows) {
  using L = SuperLayout<Block>;
  constexpr int kSteps = L::kGroup / 4;
  constexpr int kChunk = std::min(kSteps, kInt16Steps<Block>);
  static_assert(kSteps % kChunk == 0, "int16 chunks must tile a group");
  __m256 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t sb = 0; sb < nsb; ++sb) {
    const uint8_t* p = panel + size_t(sb) * L::kStride;
    const uint8_t* a = act + size_t(sb) * sizeof(BlockQ8K);
    const int8_t* qa = reinterpret_cast<const BlockQ8K*>(a)->qs;
    __m256i s[T];
    for (int t = 0; t < T; ++t) s[t] = _mm256_setzero_si256();
    for (int g = 0; g < L::kGroups; ++g) {
      const __m256i sc = _mm256_load_si256(reinterpret_cast<const __m256i*>(p + L::kSc + 32 * g));
      if constexpr (kSigned<Block>) {
#pragma GCC unroll 8
        for (int st = 0; st < kSteps; ++st) {
          const int col = g * L::kGroup + 4 * st;
          const __m256i w = _mm256_load_si256(reinterpret_cast<const __m256i*>(p + L::kW + 8 * col));
          const __m256i abs_w = _mm256_abs_epi8(w);
#pragma GCC unroll 4
          for (int t = 0; t < T; ++t)
            s[t] = _mm256_add_epi32(s[t], signed_step(w, abs_w, _mm256_set1_epi32(load_i32(qa + t * as + col)), sc));
        }
        continue;
      }
      for (int c0 = 0; c0 < kSteps; c0 += kChunk) {
        __m256i sum16[T];
        for (int t = 0; t < T; ++t) sum16[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
        for (int st = c0; st < c0 + kChunk; ++st) {
          const int col = g * L::kGroup + 4 * st;
          const __m256i w = _mm256_load_si256(reinterpret_cast<const __m256i*>(p + L::kW + 8 * col));
#pragma GCC unroll 4
          for (int t = 0; t < T; ++t) {
            const __m256i av = _mm256_set1_epi32(load_i32(qa + t * as + col));
            sum16[t] = _mm256_add_epi16(sum16[t], _mm256_maddubs_epi16(w, av));
          }
        }
        for (int t = 0; t < T; ++t) s[t] = _mm256_add_epi32(s[t], _mm256_madd_epi16(sum16[t], sc));
      }
    }
    // Offset / min term from the activation's 16-element sums.
    __m256i m[T];
    for (int t = 0; t < T; ++t) m[t] = _mm256_setzero_si256();
    const int16_t* bsums = reinterpret_cast<const BlockQ8K*>(a)->bsums;
#pragma GCC unroll 8
    for (int q = 0; q < (L::kMin || Unsigned<Block>::kOffset != 0 ? 8 : 0); ++q) {
      const __m256i coef = _mm256_load_si256(reinterpret_cast<const __m256i*>(p + L::kCoef + 32 * q));
      for (int t = 0; t < T; ++t)
        m[t] = _mm256_add_epi32(m[t], _mm256_madd_epi16(coef, _mm256_set1_epi32(load_i32(bsums + t * as / 2 + 2 * q))));
    }
    const __m256 d = _mm256_load_ps(reinterpret_cast<const float*>(p + L::kD));
    const __m256 neg_dmin = _mm256_load_ps(reinterpret_cast<const float*>(p + L::kDmin));
    for (int t = 0; t < T; ++t) {
      const float da = reinterpret_cast<const BlockQ8K*>(a + t * as)->d;
      __m256 f;
      if constexpr (L::kMin) {
        f = _mm256_fmadd_ps(_mm256_cvtepi32_ps(m[t]), neg_dmin, _mm256_mul_ps(_mm256_cvtepi32_ps(s[t]), d));
      } else {
        f = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(s[t], m[t])), d);
      }
      acc[t] = _mm256_fmadd_ps(f, _mm256_set1_ps(da), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) {
    if (n_rows >= kLanes) {
      _mm256_storeu_ps(y + t * ldy, acc[t]);
    } else {
      alignas(32) float tmp[kLanes];
      _mm256_store_ps(tmp, acc[t]);
      std::memcpy(y + t * ldy, tmp, sizeof(float) * size_t(n_rows));
    }
  }
}

template <class Block, int T>
void micro_super_n(int n, const uint8_t* panel, int64_t nsb, const uint8_t* act, size_t as, float* y, size_t ldy,
                   int n_rows) {
  if constexpr (T > 0) {
    if (n == T) return micro_super<Block, T>(panel, nsb, act, as, y, ldy, n_rows);
    micro_super_n<Block, T - 1>(n, panel, nsb, act, as, y, ldy, n_rows);
  }
}

template <class Block>
void gemm_super_rows(const MatmulTile& t) {
  using L = SuperLayout<Block>;
  const int64_t nsb = t.k / 256;
  const int64_t n_micro = (t.n_rows + kLanes - 1) / kLanes;
  const size_t micro_bytes = size_t(nsb) * L::kStride;
  for (int64_t m = 0; m < n_micro; ++m) {
    const int n = int(std::min<int64_t>(kLanes, t.n_rows - m * kLanes));
    const Block* rows[kLanes];
    for (int r = 0; r < n; ++r) rows[r] = reinterpret_cast<const Block*>(t.w + size_t(m * kLanes + r) * t.w_stride);
    for (int64_t sb = 0; sb < nsb; ++sb) pack_super_block(rows, n, sb, t.scratch + size_t(m) * micro_bytes + size_t(sb) * L::kStride);
  }
  for (int t0 = 0; t0 < t.n_tok; t0 += kTok) {
    const int nt = std::min(kTok, t.n_tok - t0);
    for (int64_t m = 0; m < n_micro; ++m) {
      const int n = int(std::min<int64_t>(kLanes, t.n_rows - m * kLanes));
      micro_super_n<Block, kTok>(nt, t.scratch + size_t(m) * micro_bytes, nsb, t.act + size_t(t0) * t.act_stride,
                                 t.act_stride, t.y + size_t(t0) * t.ldy + m * kLanes, t.ldy, n);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Legacy 32-element blocks with Q8_0 / Q8_1 activations.

template <class Block>
struct LegacyLayout {
  static constexpr bool kMin = gemm::kLegacyMin<Block>;
  static constexpr size_t kW = 0;
  static constexpr size_t kD = 256;
  static constexpr size_t kM = 288;
  static constexpr size_t kStride = 320;
  // Per token of a token block: the activation's Σq per block (for the offset), as int32.
  static size_t sums_bytes(int64_t k) { return align_up(size_t(k / 32) * 4); }
  static size_t panel_bytes(int64_t k) { return size_t(kTileRows / kLanes) * size_t(k / 32) * kStride; }
  static size_t scratch(int64_t k) { return panel_bytes(k) + kTok * sums_bytes(k) + kAlign; }
};

template <class Block>
void pack_legacy_block(const Block* const* rows, int n, int64_t b, uint8_t* p) {
  using L = LegacyLayout<Block>;
  constexpr int kOff = Unsigned<Block>::kOffset;
  alignas(32) LegacyLevels lv[kLanes];
  for (int r = 0; r < n; ++r) gemm::unpack_legacy_fast(rows[r][b], lv[r]);
  for (int r = n; r < kLanes; ++r) {
    lv[r] = LegacyLevels{};
    std::memset(lv[r].w, -kOff, 32);
  }
  const __m256i off = _mm256_set1_epi8(char(kOff));
  for (int c = 0; c < 8; ++c)
    _mm256_store_si256(reinterpret_cast<__m256i*>(p + L::kW + 32 * c),
                       _mm256_add_epi8(gather_rows(lv[0].w, sizeof(LegacyLevels), 4 * c), off));
  alignas(32) float d[kLanes], m[kLanes];
  for (int r = 0; r < kLanes; ++r) {
    d[r] = lv[r].d;
    m[r] = lv[r].m;
  }
  std::memcpy(p + L::kD, d, sizeof(d));
  std::memcpy(p + L::kM, m, sizeof(m));
}

// Activation block layout: Q8_0 {f16 d; qs}, Q8_1 {f16 d; f16 s; qs}, or for Q8_0 weights
// Q8_0H {f16 d[2]; qs} (one scale per 16-element half, so two integer sums per block).
template <class Block>
constexpr bool kHalves = std::is_same_v<Block, BlockQ8_0>;
template <class Block>
constexpr size_t kActQs = gemm::kLegacyMin<Block> || kHalves<Block> ? 4 : 2;
template <class Block>
constexpr size_t kActBlock = gemm::kLegacyMin<Block> ? sizeof(BlockQ8_1)
                             : kHalves<Block>        ? sizeof(BlockQ8_0H)
                                                     : sizeof(BlockQ8_0);

template <class Block, int T>
void micro_legacy(const uint8_t* panel, int64_t nb, const uint8_t* act, size_t as, const int32_t* sums, size_t ss,
                  float* y, size_t ldy, int n_rows) {
  using L = LegacyLayout<Block>;
  constexpr int kOff = Unsigned<Block>::kOffset;
  constexpr int kChunk = std::min(8, kInt16Steps<Block>);
  __m256 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* p = panel + size_t(b) * L::kStride;
    const uint8_t* a = act + size_t(b) * kActBlock<Block>;
    if constexpr (kSigned<Block>) {
      // One integer sum per activation scale (per half for Q8_0H), folded into acc at once.
      constexpr int kH = kHalves<Block> ? 2 : 1;
      const __m256 d = _mm256_load_ps(reinterpret_cast<const float*>(p + L::kD));
#pragma GCC unroll 2
      for (int h = 0; h < kH; ++h) {
        __m256i s[T];
        for (int t = 0; t < T; ++t) s[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
        for (int st = h * 8 / kH; st < (h + 1) * 8 / kH; ++st) {
          const __m256i w = _mm256_load_si256(reinterpret_cast<const __m256i*>(p + L::kW + 32 * st));
          const __m256i abs_w = _mm256_abs_epi8(w);
#pragma GCC unroll 4
          for (int t = 0; t < T; ++t) {
            const __m256i av = _mm256_set1_epi32(load_i32(a + t * as + kActQs<Block> + 4 * st));
            s[t] = _mm256_add_epi32(s[t], signed_step(w, abs_w, av, ones));
          }
        }
        for (int t = 0; t < T; ++t) {
          uint16_t dh;
          std::memcpy(&dh, a + t * as + 2 * h, 2);
          acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[t]), _mm256_mul_ps(d, _mm256_set1_ps(_cvtsh_ss(dh))), acc[t]);
        }
      }
      continue;
    }
    __m256i s[T];
    for (int t = 0; t < T; ++t) s[t] = _mm256_setzero_si256();
    for (int c0 = 0; c0 < 8; c0 += kChunk) {
      __m256i sum16[T];
      for (int t = 0; t < T; ++t) sum16[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
      for (int st = c0; st < c0 + kChunk; ++st) {
        const __m256i w = _mm256_load_si256(reinterpret_cast<const __m256i*>(p + L::kW + 32 * st));
#pragma GCC unroll 4
        for (int t = 0; t < T; ++t) {
          const __m256i av = _mm256_set1_epi32(load_i32(a + t * as + kActQs<Block> + 4 * st));
          sum16[t] = _mm256_add_epi16(sum16[t], _mm256_maddubs_epi16(w, av));
        }
      }
      for (int t = 0; t < T; ++t) s[t] = _mm256_add_epi32(s[t], _mm256_madd_epi16(sum16[t], ones));
    }
    const __m256 d = _mm256_load_ps(reinterpret_cast<const float*>(p + L::kD));
    for (int t = 0; t < T; ++t) {
      uint16_t dh;
      std::memcpy(&dh, a + t * as, 2);
      __m256i si = s[t];
      if constexpr (kOff != 0) si = _mm256_sub_epi32(si, _mm256_set1_epi32(kOff * sums[t * ss + size_t(b)]));
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(si), _mm256_mul_ps(d, _mm256_set1_ps(_cvtsh_ss(dh))), acc[t]);
      if constexpr (L::kMin) {
        uint16_t sh;
        std::memcpy(&sh, a + t * as + 2, 2);
        acc[t] = _mm256_fmadd_ps(_mm256_load_ps(reinterpret_cast<const float*>(p + L::kM)), _mm256_set1_ps(_cvtsh_ss(sh)),
                                 acc[t]);
      }
    }
  }
  for (int t = 0; t < T; ++t) {
    if (n_rows >= kLanes) {
      _mm256_storeu_ps(y + t * ldy, acc[t]);
    } else {
      alignas(32) float tmp[kLanes];
      _mm256_store_ps(tmp, acc[t]);
      std::memcpy(y + t * ldy, tmp, sizeof(float) * size_t(n_rows));
    }
  }
}

template <class Block, int T>
void micro_legacy_n(int n, const uint8_t* panel, int64_t nb, const uint8_t* act, size_t as, const int32_t* sums,
                    size_t ss, float* y, size_t ldy, int n_rows) {
  if constexpr (T > 0) {
    if (n == T) return micro_legacy<Block, T>(panel, nb, act, as, sums, ss, y, ldy, n_rows);
    micro_legacy_n<Block, T - 1>(n, panel, nb, act, as, sums, ss, y, ldy, n_rows);
  }
}

template <class Block>
void gemm_legacy_rows(const MatmulTile& t) {
  using L = LegacyLayout<Block>;
  const int64_t nb = t.k / 32;
  const int64_t n_micro = (t.n_rows + kLanes - 1) / kLanes;
  const size_t micro_bytes = size_t(nb) * L::kStride;
  int32_t* sums = reinterpret_cast<int32_t*>(t.scratch + L::panel_bytes(t.k));
  const size_t ss = L::sums_bytes(t.k) / 4;
  for (int64_t m = 0; m < n_micro; ++m) {
    const int n = int(std::min<int64_t>(kLanes, t.n_rows - m * kLanes));
    const Block* rows[kLanes];
    for (int r = 0; r < n; ++r) rows[r] = reinterpret_cast<const Block*>(t.w + size_t(m * kLanes + r) * t.w_stride);
    for (int64_t b = 0; b < nb; ++b) pack_legacy_block(rows, n, b, t.scratch + size_t(m) * micro_bytes + size_t(b) * L::kStride);
  }
  for (int t0 = 0; t0 < t.n_tok; t0 += kTok) {
    const int nt = std::min(kTok, t.n_tok - t0);
    const uint8_t* act = t.act + size_t(t0) * t.act_stride;
    if constexpr (Unsigned<Block>::kOffset != 0) {
      for (int i = 0; i < nt; ++i) {
        for (int64_t b = 0; b < nb; ++b) {
          const int8_t* q = reinterpret_cast<const int8_t*>(act + size_t(i) * t.act_stride + size_t(b) * kActBlock<Block> +
                                                            kActQs<Block>);
          int32_t sum = 0;
          for (int e = 0; e < 32; ++e) sum += q[e];
          sums[size_t(i) * ss + size_t(b)] = sum;
        }
      }
    }
    for (int64_t m = 0; m < n_micro; ++m) {
      const int n = int(std::min<int64_t>(kLanes, t.n_rows - m * kLanes));
      micro_legacy_n<Block, kTok>(nt, t.scratch + size_t(m) * micro_bytes, nb, act, t.act_stride, sums, ss,
                                  t.y + size_t(t0) * t.ldy + m * kLanes, t.ldy, n);
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

// min_tokens: where the gemm overtook the AVX2 decode tiles (thread CPU time, 2048 × 4096 weight,
// "gemm vs decode crossover" bench case), rounded towards the gemm (prefill weights come from DRAM).
template <class Block>
void install_super(KernelTable& table, QType type, int min_tokens) {
  TypeKernels& k = table[type];
  k.gemm = in_row_chunks<gemm_super_rows<Block>>;
  k.gemm_scratch = SuperLayout<Block>::scratch;
  k.gemm_rows = kTileRows;
  k.gemm_min_tokens = min_tokens;
  k.gemm_name = "avx2 panel";
}

template <class Block>
void install_legacy(KernelTable& table, QType type, int min_tokens) {
  TypeKernels& k = table[type];
  k.gemm = in_row_chunks<gemm_legacy_rows<Block>>;
  k.gemm_scratch = LegacyLayout<Block>::scratch;
  k.gemm_rows = kTileRows;
  k.gemm_min_tokens = min_tokens;
  k.gemm_name = "avx2 panel";
}

}  // namespace

void fill_gemm_avx2(KernelTable& t, const CpuFeatures& cpu) {
  if (!cpu.avx2 || !cpu.fma || !cpu.f16c) return;
  install_super<BlockQ2K>(t, QType::Q2_K, 24);
  install_super<BlockQ3K>(t, QType::Q3_K, 32);
  install_super<BlockQ4K>(t, QType::Q4_K, 16);
  install_super<BlockQ5K>(t, QType::Q5_K, 16);
  install_super<BlockQ6K>(t, QType::Q6_K, 24);
  install_legacy<BlockQ4_0>(t, QType::Q4_0, 16);
  install_legacy<BlockQ4_1>(t, QType::Q4_1, 8);
  install_legacy<BlockQ5_0>(t, QType::Q5_0, 12);
  install_legacy<BlockQ5_1>(t, QType::Q5_1, 8);
  install_legacy<BlockIQ4NL>(t, QType::IQ4_NL, 12);
  install_super<BlockIQ4XS>(t, QType::IQ4_XS, 12);
  install_legacy<BlockQ8_0>(t, QType::Q8_0, 8);
}

}  // namespace kq
