// AVX-512 VNNI kernels (dpbusd / dpwssd) for the integer quants, installed over
// kernels_avx512.cpp's AVX-512BW forms when the CPU has avx512vnni. BF16 weights stay on the
// widening f32 kernel: vdpbf16ps would need the activations rounded to bf16.
#include "quant/kernels.h"
#include "quant/simd_avx512.h"

namespace kq {

void fill_kernels_avx512vnni(KernelTable& t, const CpuFeatures& cpu) {
  using namespace avx512;
  if (!cpu.avx512vnni) return;
  install_quants<true>(t, "avx512-vnni");
  fill_repacked_avx512vnni(t);
}

}  // namespace kq
