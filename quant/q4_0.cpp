// Scalar reference for Q4_0: dequantize, quantize, dot product.
#include "quant/q4_0.h"

#include "common/error.h"

namespace kq {

void dequantize_row_q4_0(const void*, float*, int64_t) { throw Error("dequantize_row_q4_0: not implemented"); }

void quantize_row_q4_0(const float*, void*, int64_t, const float*) { throw Error("quantize_row_q4_0: not implemented"); }

float dot_q4_0_q8_0(int64_t, const void*, const void*) { throw Error("dot_q4_0_q8_0: not implemented"); }

}  // namespace kq
