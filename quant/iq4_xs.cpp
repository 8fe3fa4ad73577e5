// Scalar reference for IQ4_XS: dequantize, quantize, dot product.
#include "quant/iq4_xs.h"

#include "common/error.h"

namespace kq {

void dequantize_row_iq4_xs(const void*, float*, int64_t) { throw Error("dequantize_row_iq4_xs: not implemented"); }

void quantize_row_iq4_xs(const float*, void*, int64_t, const float*) { throw Error("quantize_row_iq4_xs: not implemented"); }

float dot_iq4_xs_q8_k(int64_t, const void*, const void*) { throw Error("dot_iq4_xs_q8_k: not implemented"); }

}  // namespace kq
