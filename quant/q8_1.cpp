// Scalar reference for Q8_1: dequantize, quantize, dot product.
#include "quant/q8_1.h"

#include "common/error.h"

namespace kq {

void dequantize_row_q8_1(const void*, float*, int64_t) { throw Error("dequantize_row_q8_1: not implemented"); }

void quantize_row_q8_1(const float*, void*, int64_t, const float*) { throw Error("quantize_row_q8_1: not implemented"); }

}  // namespace kq
