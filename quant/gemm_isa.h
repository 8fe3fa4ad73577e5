// Entry points of the per-ISA prefill GEMM files that the dispatching fill_gemm_* functions call.
#pragma once

#include "quant/kernels.h"

namespace kq {

// Installs the AVX-512 VNNI panel GEMM (quant/gemm_avx512vnni.cpp); call only when the CPU has VNNI.
void fill_gemm_avx512vnni(KernelTable& t);

}  // namespace kq
