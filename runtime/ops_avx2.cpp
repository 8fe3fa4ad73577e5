// The element-wise ops built for AVX2 + FMA (this file alone gets -mavx2 -mfma -mf16c).
#include "runtime/ops_simd.h"

namespace kq {

const OpsKernels& ops_kernels_avx2() {
  static const OpsKernels t = make_ops_kernels<xsimd::fma3<xsimd::avx2>>("avx2");
  return t;
}

}  // namespace kq
