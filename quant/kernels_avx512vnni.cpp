// AVX-512 VNNI kernels (dpbusd / dpwssd) for the integer quants and vdpbf16ps for BF16 weights;
// installed over kernels_avx512.cpp's AVX-512BW forms when the CPU has avx512vnni (and avx512bf16).
#include "quant/kernels.h"
#include "quant/simd_avx512.h"

namespace kq {

void fill_kernels_avx512vnni(KernelTable& t, const CpuFeatures& cpu) {
  using namespace avx512;
  if (!cpu.avx512vnni) return;
  install_quants<true>(t, "avx512-vnni");
  fill_repacked_avx512vnni(t);
  if (cpu.avx512bf16) install<KBF16Dp>(t, QType::BF16, "avx512-bf16");
}

}  // namespace kq
