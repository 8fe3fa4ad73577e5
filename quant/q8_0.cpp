// Scalar reference for Q8_0: dequantize, quantize, dot product.
#include "quant/q8_0.h"

#include "common/error.h"

namespace kq {

void dequantize_row_q8_0(const void*, float*, int64_t) { throw Error("dequantize_row_q8_0: not implemented"); }

void quantize_row_q8_0(const float*, void*, int64_t, const float*) { throw Error("quantize_row_q8_0: not implemented"); }

float dot_q8_0_q8_0(int64_t, const void*, const void*) { throw Error("dot_q8_0_q8_0: not implemented"); }

}  // namespace kq
