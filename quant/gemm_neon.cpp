// NEON prefill GEMM kernels (placeholder: filled in by the GEMM work).
#include "quant/kernels.h"

namespace kq {
void fill_gemm_neon(KernelTable&, const CpuFeatures&) {}
}  // namespace kq
