// AVX-512 prefill GEMM dispatch: installs the VNNI panel kernels when the CPU has AVX-512 VNNI.
#include "quant/gemm_isa.h"
#include "quant/kernels.h"

namespace kq {

void fill_gemm_avx512(KernelTable& t, const CpuFeatures& cpu) {
  if (cpu.avx512vnni) fill_gemm_avx512vnni(t);
}

}  // namespace kq
