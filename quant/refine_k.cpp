// Refining quantizers for the 256-element super-block types: Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS.
#include <cmath>
#include <cstring>

#include "quant/iq4_xs.h"
#include "quant/k_common.h"
#include "quant/q2_k.h"
#include "quant/q3_k.h"
#include "quant/q4_k.h"
#include "quant/q5_k.h"
#include "quant/q6_k.h"
#include "quant/refine.h"
#include "quant/refine_row.h"

namespace kq {

namespace {

using refine::Params;
using refine::refine_row;
using refine::with_rows;

// Returns sigma^2 = factor * mean(x^2) over the super-block (the imatrix recipes' regulariser).
float block_sigma2(const float* x, float factor) {
  float sum_x2 = 0;
  for (int i = 0; i < 256; ++i) sum_x2 += x[i] * x[i];
  return factor * sum_x2 / 256;
}

// Fills w with importance*sqrt(sigma^2 + x^2), llama.cpp's imatrix weights for the k-quants.
void imatrix_weights(const float* x, const float* qw, float sigma2, float* w) {
  for (int i = 0; i < 256; ++i) w[i] = qw[i] * std::sqrt(sigma2 + x[i] * x[i]);
}

// Members every k-quant codec shares: the 256-element block, the row functions, and the imatrix
// weights with sigma^2 = kSigmaFactor * mean(x^2) over the super-block.
template <class B, int kSigmaFactor = 2>  // an int: clang (the fuzz build) takes no float template arguments
struct KCodecBase {
  using Block = B;
  static constexpr int kBlock = 256;
  void (*reference)(const float*, void*, int64_t, const float*);
  void (*dequantize_row)(const void*, float*, int64_t);
  void weights(const float* x, const float* qw, float, float* w) const {
    imatrix_weights(x, qw, block_sigma2(x, float(kSigmaFactor)), w);
  }
  void dequantize(const Block& b, float* y) const { dequantize_row(&b, y, 256); }
  int seeds(const float*, const Params&, Params*) const { return 0; }
};

// Q2_K: 16 groups of 16, 4-bit scales and mins, levels 0..3.
struct Q2KCodec : KCodecBase<BlockQ2K, 1> {
  refine::Layout layout{16, 16, 0, 15, 0, 15, true};
  refine::UniformLevels levels{0, 3};
  Params decode(const Block& b) const {
    Params p;
    p.d = b.d;
    p.dmin = b.dmin;
    for (int j = 0; j < 16; ++j) p.s[j] = b.scales[j] & 0x0F, p.m[j] = b.scales[j] >> 4;
    return p;
  }
  void encode(const Params& p, const int8_t* L, Block& b) const {
    b.d = p.d;
    b.dmin = p.dmin;
    for (int j = 0; j < 16; ++j) b.scales[j] = uint8_t(p.s[j] | (p.m[j] << 4));
    pack_2bit(reinterpret_cast<const uint8_t*>(L), b.qs);
  }
};

// Q3_K: 16 groups of 16, signed 6-bit scales, levels -4..3.
struct Q3KCodec : KCodecBase<BlockQ3K> {
  refine::Layout layout{16, 16, -32, 31, 0, 0, false};
  refine::UniformLevels levels{-4, 3};
  Params decode(const Block& b) const {
    Params p;
    p.d = b.d;
    for (int j = 0; j < 16; ++j) p.s[j] = get_scale_q3k(j, b.scales) - 32;
    return p;
  }
  void encode(const Params& p, const int8_t* L, Block& b) const {
    b.d = p.d;
    uint8_t u[16], low[256];
    for (int j = 0; j < 16; ++j) u[j] = uint8_t(p.s[j] + 32);
    set_scales_q3k(u, b.scales);
    std::memset(b.hmask, 0, sizeof b.hmask);
    for (int e = 0; e < 256; ++e) {
      const int q = L[e] + 4;  // 0..7: bit 2 goes to hmask
      if (q > 3) b.hmask[e % 32] = uint8_t(b.hmask[e % 32] | (1u << (e / 32)));
      low[e] = uint8_t(q & 3);
    }
    pack_2bit(low, b.qs);
  }
};

// Q4_K / Q5_K: 8 groups of 32, 6-bit scales and mins.
template <class B, int kNmax>
struct K4Codec : KCodecBase<B> {
  refine::Layout layout{8, 32, 0, 63, 0, 63, true};
  refine::UniformLevels levels{0, kNmax};
  Params decode(const B& b) const {
    Params p;
    p.d = b.d;
    p.dmin = b.dmin;
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      get_scale_min_k4(j, b.scales, &sc, &m);
      p.s[j] = sc;
      p.m[j] = m;
    }
    return p;
  }
  void encode(const Params& p, const int8_t* L, B& b) const {
    b.d = p.d;
    b.dmin = p.dmin;
    uint8_t ls[8], lm[8];
    for (int j = 0; j < 8; ++j) ls[j] = uint8_t(p.s[j]), lm[j] = uint8_t(p.m[j]);
    set_scales_mins_k4(ls, lm, b.scales);
    pack_k4_nibbles(L, b.qs);
    if constexpr (kNmax == 31) pack_q5_k_high_bits(L, b.qh);
  }
};

// Q6_K: 16 groups of 16, int8 scales, levels -32..31; its imatrix recipe weighs by importance alone.
struct Q6KCodec : KCodecBase<BlockQ6K> {
  refine::Layout layout{16, 16, -128, 127, 0, 0, false};
  refine::UniformLevels levels{-32, 31};
  void weights(const float*, const float* qw, float, float* w) const { std::memcpy(w, qw, 256 * sizeof(float)); }
  Params decode(const Block& b) const {
    Params p;
    p.d = b.d;
    for (int j = 0; j < 16; ++j) p.s[j] = b.scales[j];
    return p;
  }
  void encode(const Params& p, const int8_t* L, Block& b) const {
    b.d = p.d;
    for (int j = 0; j < 16; ++j) b.scales[j] = int8_t(p.s[j]);
    for (int h = 0; h < 2; ++h) {
      const int8_t* e = L + 128 * h;
      for (int l = 0; l < 32; ++l) {
        const int q0 = e[l] + 32, q1 = e[l + 32] + 32, q2 = e[l + 64] + 32, q3 = e[l + 96] + 32;
        b.ql[64 * h + l] = uint8_t((q0 & 0x0F) | ((q2 & 0x0F) << 4));
        b.ql[64 * h + 32 + l] = uint8_t((q1 & 0x0F) | ((q3 & 0x0F) << 4));
        b.qh[32 * h + l] = uint8_t((q0 >> 4) | ((q1 >> 4) << 2) | ((q2 >> 4) << 4) | ((q3 >> 4) << 6));
      }
    }
  }
};

// IQ4_XS: 8 groups of 32, signed 6-bit scales, IQ4's table.
struct Iq4xsCodec : KCodecBase<BlockIQ4XS> {
  refine::Layout layout{8, 32, -32, 31, 0, 0, false};
  refine::Iq4Levels levels{};
  Params decode(const Block& b) const {
    Params p;
    p.d = b.d;
    for (int j = 0; j < 8; ++j)
      p.s[j] = (((b.scales_l[j / 2] >> (4 * (j % 2))) & 0x0F) | (((b.scales_h >> (2 * j)) & 3) << 4)) - 32;
    return p;
  }
  void encode(const Params& p, const int8_t* L, Block& b) const {
    b.d = p.d;
    b.scales_h = 0;
    std::memset(b.scales_l, 0, sizeof b.scales_l);
    for (int j = 0; j < 8; ++j) {
      const int u = p.s[j] + 32;
      b.scales_l[j / 2] = uint8_t(b.scales_l[j / 2] | ((u & 0x0F) << (4 * (j % 2))));
      b.scales_h = uint16_t(b.scales_h | ((u >> 4) << (2 * j)));
      for (int i = 0; i < 16; ++i) b.qs[16 * j + i] = uint8_t(L[32 * j + i] | (L[32 * j + 16 + i] << 4));
    }
  }
};

}  // namespace

void quantize_row_q2_k_refined(const float* src, void* dst, int64_t n, const float* importance) {
  refine_row(with_rows<Q2KCodec>(quantize_row_q2_k, dequantize_row_q2_k), src, dst, n, importance);
}

void quantize_row_q3_k_refined(const float* src, void* dst, int64_t n, const float* importance) {
  refine_row(with_rows<Q3KCodec>(quantize_row_q3_k, dequantize_row_q3_k), src, dst, n, importance);
}

void quantize_row_q4_k_refined(const float* src, void* dst, int64_t n, const float* importance) {
  refine_row(with_rows<K4Codec<BlockQ4K, 15>>(quantize_row_q4_k, dequantize_row_q4_k), src, dst, n, importance);
}

void quantize_row_q5_k_refined(const float* src, void* dst, int64_t n, const float* importance) {
  refine_row(with_rows<K4Codec<BlockQ5K, 31>>(quantize_row_q5_k, dequantize_row_q5_k), src, dst, n, importance);
}

void quantize_row_q6_k_refined(const float* src, void* dst, int64_t n, const float* importance) {
  refine_row(with_rows<Q6KCodec>(quantize_row_q6_k, dequantize_row_q6_k), src, dst, n, importance);
}

void quantize_row_iq4_xs_refined(const float* src, void* dst, int64_t n, const float* importance) {
  refine_row(with_rows<Iq4xsCodec>(quantize_row_iq4_xs, dequantize_row_iq4_xs), src, dst, n, importance);
}

}  // namespace kq
