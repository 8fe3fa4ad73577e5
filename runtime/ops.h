// Element-wise and row ops of the forward pass (RMSNorm, RoPE, softmax, SiLU, add), in ggml's float order.
#pragma once

#include <cstdint>

namespace kq {

// ggml's two RoPE pairings (formats.md A.10): NORM rotates (x[2i], x[2i+1]), NEOX (x[i], x[i+n_rot/2]).
enum class RopeType { kNorm, kNeox };

struct RopeParams {
  int n_rot = 0;  // Drot: leading dims of each head that rotate (even)
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;              // linear scaling: 1 / factor
  const float* freq_factors = nullptr;  // [n_rot/2] or null: each pair's angle is divided by it
  RopeType type = RopeType::kNorm;
};

// Writes out[i] = (x[i] * s) * w[i] with s = 1/sqrt(mean(x²) + eps); the two float roundings follow
// ggml's rms_norm followed by mul. x and out may alias.
void rmsnorm(const float* x, const float* w, float* out, int n, float eps);

// Fills cos_sin ([n_rot]: cos, sin per rotary pair) for one position. θ is built by repeated float
// multiplication by base^(−2/n_rot), as ggml does, because the rounding of that recurrence shows up
// in the logits of sensitive models.
void rope_angles(int pos, const RopeParams& p, float* cos_sin);
// Rotates the first n_rot dims of each of n_heads heads (x: [n_heads][head_dim]) in place.
void rope_apply(float* x, int n_heads, int head_dim, const RopeParams& p, const float* cos_sin);

// Replaces x[0..n) by its softmax: max, exp(x − max) summed in double, then one float scale.
void softmax(float* x, int n);
// gate[i] = silu(gate[i]) * up[i] (SiLU as x / (1 + e^−x)).
void silu_mul(float* gate, const float* up, int n);
// x[i] += y[i].
void add(float* x, const float* y, int n);
// x[i] *= s.
void scale(float* x, int n, float s);
// y[i] += a · x[i] (fused multiply-add where the CPU has one).
void axpy(float* y, float a, const float* x, int n);

// The functions above run the xsimd build for the CPU (runtime/ops_kernels.h). These scalar forms
// are the references they are tested against; rmsnorm and softmax sum in double, the vector builds
// in compensated float lanes, and the vector exp is within a few ulp of std::exp.
void rmsnorm_reference(const float* x, const float* w, float* out, int n, float eps);
void rope_apply_reference(float* x, int n_heads, int head_dim, const RopeParams& p, const float* cos_sin);
void softmax_reference(float* x, int n);
void silu_mul_reference(float* gate, const float* up, int n);
void add_reference(float* x, const float* y, int n);
void scale_reference(float* x, int n, float s);
void axpy_reference(float* y, float a, const float* x, int n);
void accumulate_rows_reference(float* y, const float* p, const float* rows, int n_rows, int n);

}  // namespace kq
