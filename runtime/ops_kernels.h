// Per-ISA table of the element-wise ops: xsimd builds for AVX2, AVX-512 and NEON, and the scalar references.
#pragma once

#include "quant/cpu_features.h"
#include "runtime/ops.h"

namespace kq {

struct OpsKernels {
  void (*rmsnorm)(const float* x, const float* w, float* out, int n, float eps);
  void (*rope_apply)(float* x, int n_heads, int head_dim, const RopeParams& p, const float* cos_sin);
  void (*softmax)(float* x, int n);
  void (*silu_mul)(float* gate, const float* up, int n);
  void (*add)(float* x, const float* y, int n);
  void (*scale)(float* x, int n, float s);                 // x[i] *= s
  void (*axpy)(float* y, float a, const float* x, int n);  // y[i] += a·x[i] (fused where the ISA has FMA)
  // y[i] += Σ_j p[j]·rows[j·n + i] for j < n_rows: as n_rows axpy calls, in the same order.
  void (*accumulate_rows)(float* y, const float* p, const float* rows, int n_rows, int n);
  const char* name;
};

// The table for the kernel table's ISA level (kernels().isa, so KQ_ISA=scalar selects the references).
const OpsKernels& ops_kernels();
// The table of one level, or nullptr when this build or this CPU lacks it (kScalar: the references).
const OpsKernels* ops_kernels_for(Isa isa);

// Filled by the ISA-specific files (runtime/ops_<isa>.cpp, built with that ISA's flags).
const OpsKernels& ops_kernels_avx2();
const OpsKernels& ops_kernels_avx512();

}  // namespace kq
