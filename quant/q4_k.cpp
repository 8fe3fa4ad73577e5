// Scalar reference for Q4_K: dequantize, quantize (Ref and imatrix recipes), dot product with Q8_K.
#include "quant/q4_k.h"

#include "quant/k_common.h"
#include "quant/q8_k.h"

namespace kq {

namespace {

// Level of element e: sub-blocks 2c and 2c+1 share bytes 32c..32c+31 (low, then high nibbles).
inline int q4_level(const BlockQ4K& b, int e) {
  const int c = e / 64, r = e % 64;
  return r < 32 ? (b.qs[32 * c + r] & 0x0F) : (b.qs[32 * c + r - 32] >> 4);
}

}  // namespace

void dequantize_row_q4_k(const void* src, float* dst, int64_t n) {
  dequantize_k4_row(static_cast<const BlockQ4K*>(src), k_blocks(n, "dequantize_row_q4_k"), dst, q4_level);
}

void quantize_row_q4_k(const float* src, void* dst, int64_t n, const float* importance) {
  quantize_k4_row(src, static_cast<BlockQ4K*>(dst), k_blocks(n, "quantize_row_q4_k"), importance, 15, -1.0f, 0.1f, 20,
                  [](const uint8_t* levels, BlockQ4K& b) { pack_k4_nibbles(levels, b.qs); });
}

float dot_q4_k_q8_k(int64_t n, const void* x, const void* y) {
  return dot_k4_q8_k_row(static_cast<const BlockQ4K*>(x), static_cast<const BlockQ8K*>(y), k_blocks(n, "dot_q4_k_q8_k"),
                         q4_level);
}

}  // namespace kq
