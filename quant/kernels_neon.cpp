// NEON kernels (placeholder: filled in by the NEON kernel work).
#include "quant/kernels.h"

namespace kq {
void fill_kernels_neon(KernelTable&, const CpuFeatures&) {}
}  // namespace kq
