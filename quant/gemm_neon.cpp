// NEON prefill GEMM dispatch: the panel GEMM needs dotprod (sdot by lane); baseline ARMv8.0 NEON
// keeps the decode tiles, whose vmull_s8 dots would gain little from a panel layout.
#include "quant/gemm_isa.h"
#include "quant/kernels.h"

namespace kq {
void fill_gemm_neon(KernelTable& t, const CpuFeatures& cpu) {
  if (cpu.dotprod) fill_gemm_neondot(t);
}
}  // namespace kq
