// matmul_onednn: float-weight prefill through oneDNN's f32 matmul, where it measured faster than kq's kernels.
//
// The only place kq talks to oneDNN (runtime/matmul_onednn.cpp includes it). matmul() calls here
// for the (ISA level, weight type) pairs of the policy table in the .cpp and token counts from its
// threshold up; everything else stays on the kernel table. KQ_ISA=scalar never uses oneDNN.
#pragma once

#include <cstddef>
#include <cstdint>

#include "quant/registry.h"
#include "runtime/tensor.h"

namespace kq {

// What float prefill of `type` uses at the selected ISA level, when oneDNN takes it.
struct OnednnPrefill {
  const char* name = nullptr;  // for `kq info --cpu`; nullptr: oneDNN is not used for this type
  int min_tokens = 0;          // used from this many tokens per matmul
};
OnednnPrefill onednn_prefill(QType type);

// The instruction set oneDNN runs at ("avx2" or "avx512_core": the selected level's cap), starting
// it if needed; a kq::Error at a level without oneDNN.
const char* onednn_isa();

// Whether matmul(w, ., n_tokens, ...) goes through oneDNN.
bool onednn_matmul_used(const TensorView& w, int n_tokens);

// Scratch bytes onednn_matmul needs for any token count up to n_tokens with n_threads threads:
// oneDNN's user-managed scratchpad (the largest over those token counts) plus, for F16/BF16
// weights, the widened f32 weight panel.
size_t onednn_matmul_scratch_bytes(const TensorView& w, int n_tokens, int n_threads);

// y[t][r] = w.row(r) · x[t] through oneDNN with n_threads OpenMP threads (call it from outside a
// parallel region), for F32 / F16 / BF16 weights at the avx2 and avx512 levels whatever the policy
// (a kq::Error elsewhere). scratch: onednn_matmul_scratch_bytes(w, n, n_threads) bytes for some
// n ≥ n_tokens. The results are within the any-order f32 summation bound of the exact dot, but not
// bit-identical to the kernel table's (oneDNN orders the k sum its own way).
void onednn_matmul(const TensorView& w, const float* x, int n_tokens, float* y, uint8_t* scratch, int n_threads);

}  // namespace kq
