// Entry points of the per-ISA prefill GEMM files that the dispatching fill_gemm_* functions call.
#pragma once

#include "quant/kernels.h"

namespace kq {

// Installs the AVX-512 VNNI panel GEMM (quant/gemm_avx512vnni.cpp); call only when the CPU has VNNI.
void fill_gemm_avx512vnni(KernelTable& t);
// Installs the f32 GEMM tiles for F32 / F16 / BF16 weights (quant/gemm_float_avx512.cpp). AVX2 has
// none: its mul_rows groups (1 row x 4 tokens, the same arithmetic) are FMA-bound already.
void fill_gemm_float_avx512(KernelTable& t);
// Installs the NEON dotprod panel GEMM (quant/gemm_neondot.cpp); call only when the CPU has dotprod.
void fill_gemm_neondot(KernelTable& t);

}  // namespace kq
