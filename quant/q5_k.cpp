// Scalar reference for Q5_K: dequantize, quantize (Ref and imatrix recipes), dot product with Q8_K.
#include "quant/q5_k.h"

#include "quant/k_common.h"
#include "quant/q8_k.h"

namespace kq {

namespace {

// Level of element e (0..31): low 4 bits placed as Q4_K, bit 4 from qh as Q3_K's hmask.
inline int q5_level(const BlockQ5K& b, int e) {
  const int c = e / 64, r = e % 64;
  const int low = r < 32 ? (b.qs[32 * c + r] & 0x0F) : (b.qs[32 * c + r - 32] >> 4);
  return low | (((b.qh[e % 32] >> (e / 32)) & 1) << 4);
}

}  // namespace

void dequantize_row_q5_k(const void* src, float* dst, int64_t n) {
  dequantize_k4_row(static_cast<const BlockQ5K*>(src), k_blocks(n, "dequantize_row_q5_k"), dst, q5_level);
}

void quantize_row_q5_k(const float* src, void* dst, int64_t n, const float* importance) {
  quantize_k4_row(src, static_cast<BlockQ5K*>(dst), k_blocks(n, "quantize_row_q5_k"), importance, 31, -0.5f, 0.1f, 15,
                  [](const uint8_t* levels, BlockQ5K& b) {
                    pack_k4_nibbles(levels, b.qs);
                    pack_q5_k_high_bits(levels, b.qh);
                  });
}

float dot_q5_k_q8_k(int64_t n, const void* x, const void* y) {
  return dot_k4_q8_k_row(static_cast<const BlockQ5K*>(x), static_cast<const BlockQ8K*>(y), k_blocks(n, "dot_q5_k_q8_k"),
                         q5_level);
}

}  // namespace kq
