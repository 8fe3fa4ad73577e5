// Scalar reference for IQ4_NL: dequantize, quantize, dot product.
#include "quant/iq4_nl.h"

#include "common/error.h"

namespace kq {

void dequantize_row_iq4_nl(const void*, float*, int64_t) { throw Error("dequantize_row_iq4_nl: not implemented"); }

void quantize_row_iq4_nl(const float*, void*, int64_t, const float*) { throw Error("quantize_row_iq4_nl: not implemented"); }

float dot_iq4_nl_q8_0(int64_t, const void*, const void*) { throw Error("dot_iq4_nl_q8_0: not implemented"); }

}  // namespace kq
