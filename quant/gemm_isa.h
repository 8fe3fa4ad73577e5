// Entry points of the per-ISA prefill GEMM files that the dispatching fill_gemm_* functions call.
#pragma once

#include "quant/kernels.h"

namespace kq {

// Installs the AVX-512 VNNI panel GEMM (quant/gemm_avx512vnni.cpp); call only when the CPU has VNNI.
void fill_gemm_avx512vnni(KernelTable& t);
// Install the f32 panel GEMMs for F32 / F16 / BF16 weights (quant/gemm_float_avx2.cpp,
// quant/gemm_float_avx512.cpp); call only when the CPU has that level.
void fill_gemm_float_avx2(KernelTable& t);
void fill_gemm_float_avx512(KernelTable& t);

}  // namespace kq
