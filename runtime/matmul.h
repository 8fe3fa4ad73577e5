// matmul: y = W·x for a batch of tokens, with activations converted once to the weight's vec_dot type.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/tensor.h"

namespace kq {

// Converts one activation row of n floats to `type` with the selected kernel table's converter
// (bit-identical at every ISA level to convert_row_reference: Q8_0/Q8_1 round half-to-even like
// ggml's x86 kernels, Q8_0H likewise per 16-element half, every other type as the registry's
// from_float).
void quantize_activations(QType type, const float* x, void* dst, int64_t n);

// Returns the scratch bytes matmul needs for n_tokens activation rows of weight w with n_threads
// threads: the converted activations plus each thread's GEMM tile scratch.
size_t matmul_scratch_bytes(const TensorView& w, int n_tokens, int n_threads);

// Computes y[t][r] = w.row(r) · x[t] for t < n_tokens, r < w.n_rows().
//   x: [n_tokens][w.ne[0]] float activations
//   y: [n_tokens][w.n_rows()] float outputs
//   scratch: matmul_scratch_bytes(w, n_tokens, n_threads) bytes, owned by the caller
// The activations are converted once to the weight type's vec_dot_type (F16 rounds to F16, Q4_0
// quantizes to Q8_0, Q8_0 to Q8_0H, K-quants to Q8_K, ...); then the rows are split over n_threads and each
// thread runs the selected ISA's kernel on its rows: the multi-row decode kernel for few tokens,
// the tiled GEMM for many.
void matmul(const TensorView& w, const float* x, int n_tokens, float* y, uint8_t* scratch, int n_threads);

// matmul in two halves, for a caller that already runs a team of n_threads (one parallel region
// over a whole decode step) and shares one conversion among weights with the same input.
// Results are bit-identical to matmul's: the same conversion, the same row chunks and kernels.
//
// Returns whether a and b take the same converted activations (vec_dot_type and row length).
bool same_activations(const TensorView& a, const TensorView& b);
// Converts the n_tokens activation rows for w into scratch, on the calling thread.
void matmul_convert(const TensorView& w, const float* x, int n_tokens, uint8_t* scratch);
// Runs w's row chunks over the enclosing OpenMP team (an orphaned `omp for nowait`: the caller
// places the barrier before y is read), on activations matmul_convert left in scratch.
void matmul_rows_in_team(const TensorView& w, const float* x, int n_tokens, float* y, uint8_t* scratch,
                         int n_threads);

}  // namespace kq
