// AVX-512 VNNI prefill GEMM: weight rows unpacked once per tile into an int8 panel, one dpbusd micro-kernel over all tokens.
//
// Layout. A tile's rows are cut into micro-tiles of 16 rows (one zmm of int32 lanes, one lane per
// row). For every 4 columns the panel holds 16 rows × 4 signed weight bytes, so one zmm load feeds
// `vpdpbusd` for every token. Activations are the unsigned operand: each token's int8 row is
// re-biased to a+128 once per token block, and the bias (128 · Σ w over a sub-block) is taken off
// through the accumulator's initial value, so every integer sum equals the scalar reference's.
// GCC 12 reports its own _mm512_undefined_* idiom (cvtepi32_ps, gathers) as (maybe-)uninitialized.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "quant/gemm_isa.h"
#include "quant/gemm_pack.h"
#include "quant/gemm_unpack_avx2.h"
#include "quant/kernels.h"
#include "quant/q8_0h.h"
#include "quant/q8_1.h"
#include "quant/q8_k.h"

namespace kq {
namespace {

using gemm::LegacyLevels;
using gemm::unpack_legacy_fast;
using gemm::unpack_super_fast;
using gemm::SuperInfo;
using gemm::SuperLevels;

constexpr int kLanes = 16;      // rows per micro-tile
constexpr int kTileRows = 128;  // rows per gemm tile (gemm_rows): 8 micro-tiles share a token block
constexpr int kTok = 6;         // tokens per micro-kernel call (accumulators: 3 zmm per token)
constexpr size_t kAlign = 64;

size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

inline int32_t load_i32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// ---------------------------------------------------------------------------------------------
// K-quants: 256-element super-blocks, integer sub-scales, Q8_K activations.

template <class Block>
struct SuperLayout {
  // Q2_K's and Q3_K's scales fold into their levels, so a whole super-block is one scale group
  // (the mins keep their 16-element groups): Q2_K q·sc ∈ [0, 45]; Q3_K q·sc ∈ [−124, 128] does
  // not fit int8 but −q·sc ∈ [−128, 124] does, so Q3_K stores the negated product and −d.
  static constexpr bool kFold = std::is_same_v<Block, BlockQ2K> || std::is_same_v<Block, BlockQ3K>;
  static constexpr int kFoldSign = std::is_same_v<Block, BlockQ3K> ? -1 : 1;
  static constexpr int kGroup = kFold ? 256 : SuperInfo<Block>::kGroup;  // elements per scale group
  static constexpr bool kMin = SuperInfo<Block>::kMin;
  static constexpr int kGroups = 256 / kGroup;
  static constexpr int kMinGroup = SuperInfo<Block>::kGroup;
  static constexpr int kMinGroups = 256 / kMinGroup;
  static constexpr int kPairs = kMinGroups / 2;  // min pairs for vpdpwssd
  // Per super-block, per micro-tile: weights, sub-scales, initial sums, [min pairs], d, [−dmin].
  static constexpr size_t kW = 0;
  static constexpr size_t kSc = 4096;
  static constexpr size_t kInit = kSc + 64 * kGroups;
  static constexpr size_t kMins = kInit + 64;
  static constexpr size_t kD = kMins + (kMin ? 64 * kPairs : 0);
  static constexpr size_t kDmin = kD + 64;
  static constexpr size_t kStride = kDmin + (kMin ? 64 : 0);

  // Activation row of one token: u8 levels (a+128), float d per super-block, int16 group sums.
  static size_t act_stride(int64_t k) {
    const int64_t nsb = k / 256;
    return align_up(size_t(k) + 4 * size_t(nsb) + (kMin ? 2 * size_t(kMinGroups * nsb) : 0));
  }
  static size_t panel_bytes(int64_t k) { return size_t(kTileRows / kLanes) * size_t(k / 256) * kStride; }
  static size_t scratch(int64_t k) { return panel_bytes(k) + kTok * act_stride(k) + kAlign; }
};

// Unpacks one super-block of up to 16 rows into the block's panel p: each row into a staging
// array first (plain contiguous stores), then one gather per 4 columns builds the 16-row vector.
template <class Block>
void pack_super_block(const Block* const* rows, int n, int64_t sb, uint8_t* p) {
  using L = SuperLayout<Block>;
  alignas(64) SuperLevels lv[kLanes];
  for (int r = 0; r < n; ++r) unpack_super_fast(rows[r][sb], lv[r]);
  for (int r = n; r < kLanes; ++r) lv[r] = SuperLevels{};
  if constexpr (L::kFold) {
    for (int r = 0; r < n; ++r) {
      for (int g = 0; g < 16; ++g) {  // one int16 multiply per 16-element group
        const __m256i w16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(lv[r].w + 16 * g)));
        const __m256i prod = _mm256_mullo_epi16(w16, _mm256_set1_epi16(int16_t(L::kFoldSign * lv[r].sc[g])));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(lv[r].w + 16 * g), _mm256_cvtepi16_epi8(prod));
      }
      lv[r].sc[0] = 1;
      lv[r].d *= float(L::kFoldSign);  // exact: a sign flip
    }
  }
  const __m512i row_offsets = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                                 _mm512_set1_epi32(int(sizeof(SuperLevels))));
  constexpr int kSteps = L::kGroup / 4;
  __m512i init = _mm512_setzero_si512();
  for (int g = 0; g < L::kGroups; ++g) {
    __m512i sum_w = _mm512_setzero_si512();
    for (int c = g * kSteps; c < (g + 1) * kSteps; ++c) {
      const __m512i w = _mm512_i32gather_epi32(row_offsets, lv[0].w + 4 * c, 1);
      _mm512_store_si512(p + L::kW + 64 * c, w);
      sum_w = _mm512_dpbusd_epi32(sum_w, _mm512_set1_epi8(1), w);
    }
    const __m512i sc = _mm512_i32gather_epi32(row_offsets, &lv[0].sc[g], 1);
    _mm512_store_si512(p + L::kSc + 64 * g, sc);
    init = _mm512_sub_epi32(init, _mm512_mullo_epi32(sc, sum_w));
  }
  _mm512_store_si512(p + L::kInit, _mm512_slli_epi32(init, 7));  // removes the +128 activation bias
  _mm512_store_ps(p + L::kD, _mm512_i32gather_ps(row_offsets, &lv[0].d, 1));
  if constexpr (L::kMin) {
    for (int q = 0; q < L::kPairs; ++q)
      _mm512_store_si512(p + L::kMins + 64 * q, _mm512_i32gather_epi32(row_offsets, &lv[0].m[2 * q], 1));
    const __m512 dmin = _mm512_i32gather_ps(row_offsets, &lv[0].dmin, 1);
    _mm512_store_ps(p + L::kDmin, _mm512_sub_ps(_mm512_setzero_ps(), dmin));
  }
}

// Re-biases one Q8_K activation row into the kernel's layout.
template <class Block>
void pack_super_act(const BlockQ8K* a, int64_t nsb, uint8_t* dst) {
  using L = SuperLayout<Block>;
  const int64_t k = nsb * 256;
  float* d = reinterpret_cast<float*>(dst + k);
  int16_t* gs = reinterpret_cast<int16_t*>(dst + k + 4 * nsb);
  const __m512i bias = _mm512_set1_epi8(char(0x80));
  for (int64_t sb = 0; sb < nsb; ++sb) {
    for (int c = 0; c < 4; ++c) {
      const __m512i q = _mm512_loadu_si512(a[sb].qs + 64 * c);
      _mm512_storeu_si512(dst + 256 * sb + 64 * c, _mm512_xor_si512(q, bias));
    }
    d[sb] = a[sb].d;
    if constexpr (L::kMin) {
      for (int g = 0; g < L::kMinGroups; ++g) {
        gs[sb * L::kMinGroups + g] =
            L::kMinGroup == 16 ? a[sb].bsums[g] : int16_t(a[sb].bsums[2 * g] + a[sb].bsums[2 * g + 1]);
      }
    }
  }
}

// y[t][lanes] = Σ over super-blocks of d_a · (d · S − dmin · M), for T tokens and one micro-tile.
template <class Block, int T>
void micro_super(const uint8_t* panel, int64_t nsb, const uint8_t* act, size_t act_stride, float* y, size_t ldy,
                 __mmask16 rows) {
  using L = SuperLayout<Block>;
  constexpr int kSteps = L::kGroup / 4;
  const int64_t k = nsb * 256;
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t sb = 0; sb < nsb; ++sb) {
    const uint8_t* p = panel + size_t(sb) * L::kStride;
    const uint8_t* a = act + 256 * sb;
    __m512i s[T];
    const __m512i init = _mm512_load_si512(p + L::kInit);
    for (int t = 0; t < T; ++t) s[t] = init;
#pragma GCC unroll 16
    for (int g = 0; g < L::kGroups; ++g) {
      __m512i sum[T];
      for (int t = 0; t < T; ++t) sum[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
      for (int st = 0; st < kSteps; ++st) {
        const int col = g * L::kGroup + 4 * st;
        const __m512i w = _mm512_load_si512(p + L::kW + 16 * col);
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t)
          sum[t] = _mm512_dpbusd_epi32(sum[t], _mm512_set1_epi32(load_i32(a + t * act_stride + col)), w);
      }
      const __m512i sc = _mm512_load_si512(p + L::kSc + 64 * g);
      for (int t = 0; t < T; ++t) s[t] = _mm512_add_epi32(s[t], _mm512_mullo_epi32(sum[t], sc));
    }
    const __m512 d = _mm512_load_ps(p + L::kD);
    const float* da = reinterpret_cast<const float*>(act + k);
    if constexpr (L::kMin) {
      const int16_t* gs = reinterpret_cast<const int16_t*>(act + k + 4 * nsb) + sb * L::kMinGroups;
      __m512i m[T];
      for (int t = 0; t < T; ++t) m[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
      for (int q = 0; q < L::kPairs; ++q) {
        const __m512i mins = _mm512_load_si512(p + L::kMins + 64 * q);
        for (int t = 0; t < T; ++t)
          m[t] = _mm512_dpwssd_epi32(m[t], mins, _mm512_set1_epi32(load_i32(gs + t * act_stride / 2 + 2 * q)));
      }
      const __m512 neg_dmin = _mm512_load_ps(p + L::kDmin);
      for (int t = 0; t < T; ++t) {
        __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(s[t]), d);
        f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(m[t]), neg_dmin, f);
        acc[t] = _mm512_fmadd_ps(f, _mm512_set1_ps(da[t * act_stride / 4 + sb]), acc[t]);
      }
    } else {
      for (int t = 0; t < T; ++t) {
        const __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(s[t]), d);
        acc[t] = _mm512_fmadd_ps(f, _mm512_set1_ps(da[t * act_stride / 4 + sb]), acc[t]);
      }
    }
  }
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * ldy, rows, acc[t]);
}

template <class Block, int T>
void micro_super_n(int n, const uint8_t* panel, int64_t nsb, const uint8_t* act, size_t as, float* y, size_t ldy,
                   __mmask16 rows) {
  if constexpr (T > 0) {
    if (n == T) return micro_super<Block, T>(panel, nsb, act, as, y, ldy, rows);
    micro_super_n<Block, T - 1>(n, panel, nsb, act, as, y, ldy, rows);
  }
}

template <class Block>
void gemm_super_rows(const MatmulTile& t) {
  using L = SuperLayout<Block>;
  const int64_t nsb = t.k / 256;
  const int64_t n_micro = (t.n_rows + kLanes - 1) / kLanes;
  const size_t micro_bytes = size_t(nsb) * L::kStride;
  uint8_t* panel = t.scratch;
  uint8_t* act = t.scratch + L::panel_bytes(t.k);
  const size_t as = L::act_stride(t.k);
  for (int64_t m = 0; m < n_micro; ++m) {
    uint8_t* mp = panel + size_t(m) * micro_bytes;
    const int n = int(std::min<int64_t>(kLanes, t.n_rows - m * kLanes));
    const Block* rows[kLanes];
    for (int r = 0; r < n; ++r) rows[r] = reinterpret_cast<const Block*>(t.w + size_t(m * kLanes + r) * t.w_stride);
    // Block-major, so one block's panel (a few KiB) stays in L1; missing rows get zero lanes.
    for (int64_t sb = 0; sb < nsb; ++sb) pack_super_block(rows, n, sb, mp + size_t(sb) * L::kStride);
  }
  for (int t0 = 0; t0 < t.n_tok; t0 += kTok) {
    const int nt = std::min(kTok, t.n_tok - t0);
    for (int i = 0; i < nt; ++i)
      pack_super_act<Block>(reinterpret_cast<const BlockQ8K*>(t.act + size_t(t0 + i) * t.act_stride), nsb,
                            act + size_t(i) * as);
    for (int64_t m = 0; m < n_micro; ++m) {
      const int64_t left = t.n_rows - m * kLanes;
      const __mmask16 rows = left >= kLanes ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
      micro_super_n<Block, kTok>(nt, panel + size_t(m) * micro_bytes, nsb, act, as,
                                 t.y + size_t(t0) * t.ldy + m * kLanes, t.ldy, rows);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Legacy 32-element blocks, Q8_0 / Q8_1 activations.

template <class Block>
struct LegacyLayout {
  static constexpr bool kMin = gemm::kLegacyMin<Block>;
  // Q8_0 weights take Q8_0H activations: one scale per 16 elements, so two integer sums per block.
  static constexpr bool kHalves = std::is_same_v<Block, BlockQ8_0>;
  static constexpr size_t kW = 0;
  static constexpr size_t kInit = 512;  // -128·Σw (of the first half when kHalves)
  static constexpr size_t kD = 576;
  static constexpr size_t kM = 640;      // Q4_1 / Q5_1: the mins; kHalves: the second half's init
  static constexpr size_t kStride = kMin || kHalves ? 704 : 640;

  // Activation row: u8 levels (a+128), float d per block (per half when kHalves), [float s per block].
  static size_t act_stride(int64_t k) {
    const int64_t nb = k / 32;
    return align_up(size_t(k) + 4 * size_t(nb) * (kMin || kHalves ? 2 : 1));
  }
  static size_t panel_bytes(int64_t k) { return size_t(kTileRows / kLanes) * size_t(k / 32) * kStride; }
  static size_t scratch(int64_t k) { return panel_bytes(k) + kTok * act_stride(k) + kAlign; }
};

template <class Block>
void pack_legacy_block(const Block* const* rows, int n, int64_t b, uint8_t* p) {
  using L = LegacyLayout<Block>;
  alignas(64) LegacyLevels lv[kLanes];
  for (int r = 0; r < n; ++r) unpack_legacy_fast(rows[r][b], lv[r]);
  for (int r = n; r < kLanes; ++r) lv[r] = LegacyLevels{};
  const __m512i row_offsets = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                                 _mm512_set1_epi32(int(sizeof(LegacyLevels))));
  __m512i sum_w[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
  for (int c = 0; c < 8; ++c) {
    const __m512i w = _mm512_i32gather_epi32(row_offsets, lv[0].w + 4 * c, 1);
    _mm512_store_si512(p + L::kW + 64 * c, w);
    const int h = L::kHalves ? c / 4 : 0;
    sum_w[h] = _mm512_dpbusd_epi32(sum_w[h], _mm512_set1_epi8(1), w);  // Σ w per row (per half)
  }
  _mm512_store_si512(p + L::kInit, _mm512_mullo_epi32(sum_w[0], _mm512_set1_epi32(-128)));
  if constexpr (L::kHalves) _mm512_store_si512(p + L::kM, _mm512_mullo_epi32(sum_w[1], _mm512_set1_epi32(-128)));
  _mm512_store_ps(p + L::kD, _mm512_i32gather_ps(row_offsets, &lv[0].d, 1));
  if constexpr (L::kMin) _mm512_store_ps(p + L::kM, _mm512_i32gather_ps(row_offsets, &lv[0].m, 1));
}

template <class Block>
void pack_legacy_act(const uint8_t* src, int64_t nb, uint8_t* dst) {
  using L = LegacyLayout<Block>;
  const int64_t k = nb * 32;
  float* d = reinterpret_cast<float*>(dst + k);
  const __m256i bias = _mm256_set1_epi8(char(0x80));
  for (int64_t b = 0; b < nb; ++b) {
    if constexpr (L::kMin) {
      const auto& blk = reinterpret_cast<const BlockQ8_1*>(src)[b];
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 32 * b),
                          _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qs)), bias));
      d[b] = fp16_to_fp32(blk.d);
      d[nb + b] = fp16_to_fp32(blk.s);
    } else if constexpr (L::kHalves) {
      const auto& blk = reinterpret_cast<const BlockQ8_0H*>(src)[b];
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 32 * b),
                          _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qs)), bias));
      d[2 * b] = fp16_to_fp32(blk.d[0]);
      d[2 * b + 1] = fp16_to_fp32(blk.d[1]);
    } else {
      const auto& blk = reinterpret_cast<const BlockQ8_0*>(src)[b];
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 32 * b),
                          _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qs)), bias));
      d[b] = fp16_to_fp32(blk.d);
    }
  }
}

template <class Block, int T>
void micro_legacy(const uint8_t* panel, int64_t nb, const uint8_t* act, size_t act_stride, float* y, size_t ldy,
                  __mmask16 rows) {
  using L = LegacyLayout<Block>;
  constexpr int kH = L::kHalves ? 2 : 1;  // integer sums (scale groups) per block
  const int64_t k = nb * 32;
  const float* da = reinterpret_cast<const float*>(act + k);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* p = panel + size_t(b) * L::kStride;
    const uint8_t* a = act + 32 * b;
    __m512i sum[kH][T];
#pragma GCC unroll 2
    for (int h = 0; h < kH; ++h) {
      const __m512i init = _mm512_load_si512(p + (h == 0 ? L::kInit : L::kM));
      for (int t = 0; t < T; ++t) sum[h][t] = init;
    }
#pragma GCC unroll 8
    for (int st = 0; st < 8; ++st) {
      const __m512i w = _mm512_load_si512(p + L::kW + 64 * st);
      const int h = kH == 2 ? st / 4 : 0;
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t)
        sum[h][t] = _mm512_dpbusd_epi32(sum[h][t], _mm512_set1_epi32(load_i32(a + t * act_stride + 4 * st)), w);
    }
    const __m512 d = _mm512_load_ps(p + L::kD);
    if constexpr (L::kHalves) {
      // d · (s0·da0 + s1·da1): five float ops per token where the two-product form takes six.
      for (int t = 0; t < T; ++t) {
        const float* dt = da + t * act_stride / 4 + 2 * b;
        __m512 g = _mm512_mul_ps(_mm512_cvtepi32_ps(sum[0][t]), _mm512_set1_ps(dt[0]));
        g = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum[1][t]), _mm512_set1_ps(dt[1]), g);
        acc[t] = _mm512_fmadd_ps(g, d, acc[t]);
      }
    } else {
      for (int t = 0; t < T; ++t) {
        const __m512 f = _mm512_mul_ps(d, _mm512_set1_ps(da[t * act_stride / 4 + b]));
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum[0][t]), f, acc[t]);
      }
    }
    if constexpr (L::kMin) {
      const __m512 m = _mm512_load_ps(p + L::kM);
      for (int t = 0; t < T; ++t) acc[t] = _mm512_fmadd_ps(m, _mm512_set1_ps(da[t * act_stride / 4 + nb + b]), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * ldy, rows, acc[t]);
}

template <class Block, int T>
void micro_legacy_n(int n, const uint8_t* panel, int64_t nb, const uint8_t* act, size_t as, float* y, size_t ldy,
                    __mmask16 rows) {
  if constexpr (T > 0) {
    if (n == T) return micro_legacy<Block, T>(panel, nb, act, as, y, ldy, rows);
    micro_legacy_n<Block, T - 1>(n, panel, nb, act, as, y, ldy, rows);
  }
}

template <class Block>
void gemm_legacy_rows(const MatmulTile& t) {
  using L = LegacyLayout<Block>;
  const int64_t nb = t.k / 32;
  const int64_t n_micro = (t.n_rows + kLanes - 1) / kLanes;
  const size_t micro_bytes = size_t(nb) * L::kStride;
  uint8_t* panel = t.scratch;
  uint8_t* act = t.scratch + L::panel_bytes(t.k);
  const size_t as = L::act_stride(t.k);
  for (int64_t m = 0; m < n_micro; ++m) {
    uint8_t* mp = panel + size_t(m) * micro_bytes;
    const int n = int(std::min<int64_t>(kLanes, t.n_rows - m * kLanes));
    const Block* rows[kLanes];
    for (int r = 0; r < n; ++r) rows[r] = reinterpret_cast<const Block*>(t.w + size_t(m * kLanes + r) * t.w_stride);
    for (int64_t b = 0; b < nb; ++b) pack_legacy_block(rows, n, b, mp + size_t(b) * L::kStride);
  }
  for (int t0 = 0; t0 < t.n_tok; t0 += kTok) {
    const int nt = std::min(kTok, t.n_tok - t0);
    for (int i = 0; i < nt; ++i)
      pack_legacy_act<Block>(t.act + size_t(t0 + i) * t.act_stride, nb, act + size_t(i) * as);
    for (int64_t m = 0; m < n_micro; ++m) {
      const int64_t left = t.n_rows - m * kLanes;
      const __mmask16 rows = left >= kLanes ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
      micro_legacy_n<Block, kTok>(nt, panel + size_t(m) * micro_bytes, nb, act, as,
                                  t.y + size_t(t0) * t.ldy + m * kLanes, t.ldy, rows);
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

// min_tokens: where the gemm overtook the AVX2 decode tiles (thread CPU time, 2048 × 4096
// weight, "gemm vs decode crossover" bench case), rounded towards the gemm: real prefill weights
// come from DRAM, which costs the decode path more.
template <class Block>
void install_super(KernelTable& table, QType type, int min_tokens) {
  TypeKernels& k = table[type];
  k.gemm = in_row_chunks<gemm_super_rows<Block>>;
  k.gemm_scratch = SuperLayout<Block>::scratch;
  k.gemm_rows = kTileRows;
  k.gemm_min_tokens = min_tokens;
  k.gemm_name = "avx512vnni panel";
}

template <class Block>
void install_legacy(KernelTable& table, QType type, int min_tokens) {
  TypeKernels& k = table[type];
  k.gemm = in_row_chunks<gemm_legacy_rows<Block>>;
  k.gemm_scratch = LegacyLayout<Block>::scratch;
  k.gemm_rows = kTileRows;
  k.gemm_min_tokens = min_tokens;
  k.gemm_name = "avx512vnni panel";
}

}  // namespace

void fill_gemm_avx512vnni(KernelTable& t) {
  install_super<BlockQ2K>(t, QType::Q2_K, 16);
  install_super<BlockQ3K>(t, QType::Q3_K, 16);
  install_super<BlockQ4K>(t, QType::Q4_K, 12);
  install_super<BlockQ5K>(t, QType::Q5_K, 12);
  install_super<BlockQ6K>(t, QType::Q6_K, 12);
  install_super<BlockIQ4XS>(t, QType::IQ4_XS, 8);
  install_legacy<BlockQ4_0>(t, QType::Q4_0, 8);
  install_legacy<BlockQ4_1>(t, QType::Q4_1, 6);
  install_legacy<BlockQ5_0>(t, QType::Q5_0, 8);
  install_legacy<BlockQ5_1>(t, QType::Q5_1, 6);
  install_legacy<BlockQ8_0>(t, QType::Q8_0, 6);
  install_legacy<BlockIQ4NL>(t, QType::IQ4_NL, 6);
}

}  // namespace kq
