// The element-wise ops built for AVX-512F (this file alone gets the AVX-512 flags).
#include "runtime/ops_simd.h"

namespace kq {

const OpsKernels& ops_kernels_avx512() {
  static const OpsKernels t = make_ops_kernels<xsimd::avx512f>("avx512");
  return t;
}

}  // namespace kq
