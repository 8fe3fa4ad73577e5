// Refining quantizers for the 32-element one-scale types: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL.
#include <cmath>
#include <cstdlib>

#include "quant/iq4_nl.h"
#include "quant/legacy_common.h"
#include "quant/q4_0.h"
#include "quant/q4_1.h"
#include "quant/q5_0.h"
#include "quant/q5_1.h"
#include "quant/q8_0.h"
#include "quant/refine.h"
#include "quant/refine_row.h"

namespace kq {

namespace {

using refine::Params;
using refine::refine_row;
using refine::with_rows;

// llama.cpp's imatrix weights importance*sqrt(sigma^2 + x^2), sigma^2 the row's mean square.
void legacy_weights(const float* x, const float* qw, float row_sigma2, float* w) {
  for (int i = 0; i < 32; ++i) w[i] = qw[i] * std::sqrt(row_sigma2 + x[i] * x[i]);
}

// Members the 32-element codecs share: the block, the row functions, llama.cpp's legacy imatrix
// weights, a one-scale decode (x = d*l) and no extra seeds.
template <class B>
struct LegacyCodecBase {
  using Block = B;
  static constexpr int kBlock = 32;
  void (*reference)(const float*, void*, int64_t, const float*);
  void (*dequantize_row)(const void*, float*, int64_t);

  void weights(const float* x, const float* qw, float s2, float* w) const { legacy_weights(x, qw, s2, w); }
  Params decode(const Block& b) const {
    Params p;
    p.d = b.d;
    p.s[0] = 1;
    return p;
  }
  void dequantize(const Block& b, float* y) const { dequantize_row(&b, y, 32); }
  int seeds(const float*, const Params&, Params*) const { return 0; }
};

// Symmetric Q4_0 / Q5_0: x = d*l, l in [-nmax, nmax-1]; seeds put the extreme at -nmax+1/2 and +nmax-1.
template <class B, int kNmax>
struct SymmetricCodec : LegacyCodecBase<B> {
  refine::Layout layout{1, 32, 1, 1, 0, 0, false};
  refine::UniformLevels levels{-kNmax, kNmax - 1};

  void encode(const Params& p, const int8_t* L, B& b) const {
    b.d = p.d;
    uint8_t q[32];
    for (int i = 0; i < 32; ++i) q[i] = uint8_t(L[i] + kNmax);
    if constexpr (kNmax == 8) {
      pack_nibbles(q, b.qs);
    } else {
      pack_q5_levels(q, b.qs, b.qh);
    }
  }
  int seeds(const float* x, const Params& ref, Params* out) const {
    const float max = signed_absmax(x);
    if (max == 0) return 0;
    out[0] = out[1] = ref;
    out[0].d = fp32_to_fp16(max / -(float(kNmax) - 0.5f));
    out[1].d = fp32_to_fp16(max / float(kNmax - 1));
    return 2;
  }
};

// Q4_1 / Q5_1: x = d*q + m, q in 0..nmax; the search's Dmin is -m (value d*q - Dmin).
template <class B, int kNmax>
struct MinCodec : LegacyCodecBase<B> {
  refine::Layout layout{1, 32, 1, 1, 1, 1, true};
  refine::UniformLevels levels{0, kNmax};

  Params decode(const B& b) const {
    Params p;
    p.d = b.d;
    p.dmin = uint16_t(b.m ^ 0x8000);
    p.s[0] = p.m[0] = 1;
    return p;
  }
  void encode(const Params& p, const int8_t* L, B& b) const {
    b.d = p.d;
    b.m = uint16_t(p.dmin ^ 0x8000);
    uint8_t q[32];
    for (int i = 0; i < 32; ++i) q[i] = uint8_t(L[i]);
    if constexpr (kNmax == 15) {
      pack_nibbles(q, b.qs);
    } else {
      pack_q5_levels(q, b.qs, b.qh);
    }
  }
};

// IQ4_NL: x = d*kIq4nlValues[q]; each block is its own super-block for the imatrix weights.
struct Iq4nlCodec : LegacyCodecBase<BlockIQ4NL> {
  refine::Layout layout{1, 32, 1, 1, 0, 0, false};
  refine::Iq4Levels levels{};

  void weights(const float* x, const float* qw, float, float* w) const {
    float sigma2 = 0;
    for (int i = 0; i < 32; ++i) sigma2 += x[i] * x[i];
    sigma2 *= 2.0f / 32.0f;
    for (int i = 0; i < 32; ++i) w[i] = qw[i] * std::sqrt(sigma2 + x[i] * x[i]);
  }
  void encode(const Params& p, const int8_t* L, Block& b) const {
    b.d = p.d;
    pack_nibbles(L, b.qs);
  }
  // The reference tries the extreme at table values -134..-120; these go further in, or use +113.
  int seeds(const float* x, const Params& ref, Params* out) const {
    const float max = signed_absmax(x);
    if (max == 0) return 0;
    int k = 0;
    for (float v : {-114.0f, -106.0f, 113.0f, 105.0f}) {
      out[k] = ref;
      out[k++].d = fp32_to_fp16(max / v);
    }
    return k;
  }
};

// Q8_0: x = d*q, q in -127..127 (never -128: kernels take |q| in int8).
struct Q8Codec {
  using Block = BlockQ8_0;
  static constexpr int kBlock = 32;
  refine::Layout layout{1, 32, 1, 1, 0, 0, false};
  refine::UniformLevels levels{-127, 127};

  static void reference(const float* src, void* dst, int64_t n, const float* imp) {
    quantize_row_q8_0(src, dst, n, imp);
  }
  void weights(const float* x, const float* qw, float s2, float* w) const { legacy_weights(x, qw, s2, w); }
  Params decode(const Block& b) const {
    Params p;
    p.d = b.d;
    p.s[0] = 1;
    return p;
  }
  void encode(const Params& p, const int8_t* L, Block& b) const {
    b.d = p.d;
    for (int i = 0; i < 32; ++i) b.qs[i] = L[i];
  }
  void dequantize(const Block& b, float* y) const { dequantize_row_q8_0(&b, y, 32); }
  int seeds(const float*, const Params&, Params*) const { return 0; }
};

}  // namespace

void quantize_row_q8_0_refined(const float* src, void* dst, int64_t n, const float* importance) {
  refine_row(Q8Codec{}, src, dst, n, importance);
}

void quantize_row_q4_0_refined(const float* src, void* dst, int64_t n, const float* importance) {
  refine_row(with_rows<SymmetricCodec<BlockQ4_0, 8>>(quantize_row_q4_0, dequantize_row_q4_0), src, dst, n, importance);
}

void quantize_row_q5_0_refined(const float* src, void* dst, int64_t n, const float* importance) {
  refine_row(with_rows<SymmetricCodec<BlockQ5_0, 16>>(quantize_row_q5_0, dequantize_row_q5_0), src, dst, n,
             importance);
}

void quantize_row_q4_1_refined(const float* src, void* dst, int64_t n, const float* importance) {
  refine_row(with_rows<MinCodec<BlockQ4_1, 15>>(quantize_row_q4_1, dequantize_row_q4_1), src, dst, n, importance);
}

void quantize_row_q5_1_refined(const float* src, void* dst, int64_t n, const float* importance) {
  refine_row(with_rows<MinCodec<BlockQ5_1, 31>>(quantize_row_q5_1, dequantize_row_q5_1), src, dst, n, importance);
}

void quantize_row_iq4_nl_refined(const float* src, void* dst, int64_t n, const float* importance) {
  refine_row(with_rows<Iq4nlCodec>(quantize_row_iq4_nl, dequantize_row_iq4_nl), src, dst, n, importance);
}

}  // namespace kq
