// Helpers shared by the legacy 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1).
#pragma once

#include <cstdint>

#include "quant/registry.h"

namespace kq {

// Returns sigma^2 = mean(x^2) over a whole row; it keeps small elements from getting zero weight.
float legacy_row_sigma2(const float* src, int64_t n);

// Fills w[32] with the imatrix weights importance[j] * sqrt(sigma2 + x[j]^2) (formats.md C.3).
void legacy_block_weights(const float* x, const float* importance, float sigma2, float* w);

// Returns the element of x[32] with the largest magnitude, sign kept (the first one on ties).
float signed_absmax(const float* x);

// Sets min and max to the smallest and largest of x[32].
void block_min_max(const float* x, float& min, float& max);

// Quantizes x[32] with weights w to levels 0..nmax (d*L + min, the llama.cpp imatrix recipe for
// Q4_1/Q5_1); returns d and sets min (the offset, already negated from make_qkx3_quants' form).
float quantize_block_min_weighted(const float* x, const float* w, int nmax, uint8_t* L, float& min);

// Quantizes 32 values to int8 with the amax/127 scale into qs; returns the unrounded f32 scale d.
float quantize_block_q8(const float* x, int8_t* qs);

// Returns 1/d, or 0 where d is 0 or 1/d overflows (such blocks store d = 0 anyway).
float legacy_inverse_scale(float d);

// Packs 32 4-bit levels: element j in the low nibble of qs[j], element j+16 in the high nibble.
template <class T>
void pack_nibbles(const T* q, uint8_t* qs) {
  for (int j = 0; j < 16; ++j) qs[j] = uint8_t(q[j] | (q[j + 16] << 4));
}

// Packs 32 levels (0..31): low nibbles in qs (Q4_0 placement), bit 4 of element e in qh bit e.
template <class T>
void pack_q5_levels(const T* q, uint8_t* qs, uint8_t* qh_out) {
  uint32_t qh = 0;
  for (int j = 0; j < 16; ++j) {
    qs[j] = uint8_t((q[j] & 0x0F) | ((q[j + 16] & 0x0F) << 4));
    qh |= uint32_t((q[j] >> 4) & 1) << j;
    qh |= uint32_t((q[j + 16] >> 4) & 1) << (j + 16);
  }
  for (int k = 0; k < 4; ++k) qh_out[k] = uint8_t(qh >> (8 * k));  // little-endian u32
}

// Reads the little-endian u32 of high bits of a Q5 block.
inline uint32_t load_qh(const uint8_t* qh) {
  return uint32_t(qh[0]) | (uint32_t(qh[1]) << 8) | (uint32_t(qh[2]) << 16) | (uint32_t(qh[3]) << 24);
}

// Returns the 5-bit levels of elements j and j+16 (0 <= j < 16) of a Q5 block.
inline void unpack_q5_pair(const uint8_t* qs, uint32_t qh, int j, int& q0, int& q1) {
  q0 = (qs[j] & 0x0F) | int(((qh >> j) & 1) << 4);
  q1 = (qs[j] >> 4) | int(((qh >> (j + 16)) & 1) << 4);
}

// Quantizes a row of Block: ref(x, block) without an imatrix, else weighted(x, w, block) with the
// per-block imatrix weights w[32].
template <class Block, class RefFn, class WeightedFn>
void quantize_row_legacy(QType type, const float* src, void* dst, int64_t n, const float* importance, RefFn ref,
                         WeightedFn weighted) {
  const int64_t nb = int64_t(row_size(type, n) / sizeof(Block));
  Block* y = static_cast<Block*>(dst);
  if (!importance) {
    for (int64_t b = 0; b < nb; ++b) ref(src + b * 32, y[b]);
    return;
  }
  const float sigma2 = legacy_row_sigma2(src, n);
  for (int64_t b = 0; b < nb; ++b) {
    const float* x = src + b * 32;
    float w[32];
    legacy_block_weights(x, importance + b * 32, sigma2, w);
    weighted(x, w, y[b]);
  }
}

}  // namespace kq
