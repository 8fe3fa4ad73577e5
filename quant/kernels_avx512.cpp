// avx512 kernels (placeholder: filled in by the avx512 kernel work).
#include "quant/kernels.h"

namespace kq {
void fill_kernels_avx512(KernelTable&, const CpuFeatures&) {}
}  // namespace kq
