// AVX-512 prefill GEMM dispatch: the f32 panel kernels for float weights, and the VNNI panel
// kernels for the integer quants when the CPU has AVX-512 VNNI.
#include "quant/gemm_isa.h"
#include "quant/kernels.h"

namespace kq {

void fill_gemm_avx512(KernelTable& t, const CpuFeatures& cpu) {
  fill_gemm_float_avx512(t);
  if (cpu.avx512vnni) fill_gemm_avx512vnni(t);
}

}  // namespace kq
