// Scalar reference for Q8_K: dequantize, quantize, dot product.
#include "quant/q8_k.h"

#include "common/error.h"

namespace kq {

void dequantize_row_q8_k(const void*, float*, int64_t) { throw Error("dequantize_row_q8_k: not implemented"); }

void quantize_row_q8_k(const float*, void*, int64_t, const float*) { throw Error("quantize_row_q8_k: not implemented"); }

}  // namespace kq
