// matmul: y = W·x for a batch of tokens, with activations converted once to the weight's vec_dot type.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/tensor.h"

namespace kq {

// Converts one activation row of n floats to `type` as ggml's CPU backend does on x86: Q8_0 and
// Q8_1 round x·(127/amax) half-to-even like its AVX kernels (the registry's from_float is the
// scalar reference, which rounds x·(1/d) half away from zero and differs in rare last units that
// a sensitive model amplifies); every other type uses the registry's from_float.
void quantize_activations(QType type, const float* x, void* dst, int64_t n);

// Returns the scratch bytes matmul needs to hold n_tokens activation rows for weight w.
size_t matmul_scratch_bytes(const TensorView& w, int n_tokens);

// Computes y[t][r] = w.row(r) · x[t] for t < n_tokens, r < w.n_rows().
//   x: [n_tokens][w.ne[0]] float activations
//   y: [n_tokens][w.n_rows()] float outputs
//   scratch: matmul_scratch_bytes(w, n_tokens) bytes, owned by the caller (no allocation here)
// The activations are converted once to the weight type's vec_dot_type with its from_float (F16
// rounds to F16, Q4_0 quantizes to Q8_0, K-quants to Q8_K, ...) and each (row, token) pair is one
// registry vec_dot: the same arithmetic as ggml's CPU backend. Rows are split over n_threads.
void matmul(const TensorView& w, const float* x, int n_tokens, float* y, uint8_t* scratch, int n_threads);

}  // namespace kq
