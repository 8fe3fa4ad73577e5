// Scalar reference for Q6_K: dequantize, quantize, dot product.
#include "quant/q6_k.h"

#include "common/error.h"

namespace kq {

void dequantize_row_q6_k(const void*, float*, int64_t) { throw Error("dequantize_row_q6_k: not implemented"); }

void quantize_row_q6_k(const float*, void*, int64_t, const float*) { throw Error("quantize_row_q6_k: not implemented"); }

float dot_q6_k_q8_k(int64_t, const void*, const void*) { throw Error("dot_q6_k_q8_k: not implemented"); }

}  // namespace kq
