// Scalar reference for Q4_1: dequantize, quantize, dot product.
#include "quant/q4_1.h"

#include "common/error.h"

namespace kq {

void dequantize_row_q4_1(const void*, float*, int64_t) { throw Error("dequantize_row_q4_1: not implemented"); }

void quantize_row_q4_1(const float*, void*, int64_t, const float*) { throw Error("quantize_row_q4_1: not implemented"); }

float dot_q4_1_q8_1(int64_t, const void*, const void*) { throw Error("dot_q4_1_q8_1: not implemented"); }

}  // namespace kq
