// avx2 kernels (placeholder: filled in by the avx2 kernel work).
#include "quant/kernels.h"

namespace kq {
void fill_kernels_avx2(KernelTable&, const CpuFeatures&) {}
}  // namespace kq
