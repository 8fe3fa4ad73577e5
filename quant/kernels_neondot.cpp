// NEON dotprod kernels (ARMv8.2-A +dotprod): the integer kernels of every quantized type with
// vdotq_s32. Installed by fill_kernels_neon only when the CPU reports asimddp.
#include "quant/kernels.h"

#if defined(__aarch64__)

#include "quant/simd_neon.h"

namespace kq {

namespace {

struct DotProd {
  static int32x4_t dot(int32x4_t acc, int8x16_t a, int8x16_t b) { return vdotq_s32(acc, a, b); }
};

}  // namespace

void fill_kernels_neondot(KernelTable& t) { neon::fill_quant_kernels<DotProd>(t, "neon-dotprod"); }

}  // namespace kq

#endif  // __aarch64__
