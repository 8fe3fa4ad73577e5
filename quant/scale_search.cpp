// Scale searches shared by the quantizers (stubs until implemented).
#include "quant/scale_search.h"

#include "common/error.h"

namespace kq {

float make_qx_quants(int, int, const float*, int8_t*, int, const float*) { throw Error("make_qx_quants: not implemented"); }
float make_q3_quants(int, int, const float*, int8_t*, bool) { throw Error("make_q3_quants: not implemented"); }
float make_qkx2_quants(int, int, const float*, const float*, uint8_t*, float*, uint8_t*, float, float, int, bool) {
  throw Error("make_qkx2_quants: not implemented");
}
float make_qkx3_quants(int, int, const float*, const float*, uint8_t*, float*, uint8_t*, float, float, int, bool) {
  throw Error("make_qkx3_quants: not implemented");
}
float make_qp_quants(int, int, const float*, uint8_t*, const float*) { throw Error("make_qp_quants: not implemented"); }

}  // namespace kq
