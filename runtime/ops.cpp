// Ops of the forward pass: scalar references (ggml's CPU evaluation order) and the per-ISA dispatch.
#include "runtime/ops.h"

#include <cmath>

#include "quant/kernels.h"
#include "runtime/ops_kernels.h"

#if defined(__aarch64__)
#include "runtime/ops_simd.h"  // NEON is AArch64's baseline, so its build lives here
#endif

namespace kq {

void rmsnorm_reference(const float* x, const float* w, float* out, int n, float eps) {
  // Squares are rounded to float and summed in double, and the mean is cast to float before
  // the square root, as ggml's rms_norm does.
  double sum = 0.0;
  for (int i = 0; i < n; ++i) sum += double(x[i] * x[i]);
  const float mean = float(sum / n);
  const float scale = 1.0f / std::sqrt(mean + eps);
  for (int i = 0; i < n; ++i) out[i] = (x[i] * scale) * w[i];
}

void rope_angles(int pos, const RopeParams& p, float* cos_sin) {
  const float theta_scale = std::pow(p.freq_base, -2.0f / float(p.n_rot));
  float theta = float(pos);
  for (int i = 0; i < p.n_rot / 2; ++i) {
    const float ff = p.freq_factors ? p.freq_factors[i] : 1.0f;
    const float angle = p.freq_scale * (theta / ff);
    cos_sin[2 * size_t(i)] = std::cos(angle);
    cos_sin[2 * size_t(i) + 1] = std::sin(angle);
    theta *= theta_scale;
  }
}

void rope_apply_reference(float* x, int n_heads, int head_dim, const RopeParams& p, const float* cos_sin) {
  const int half = p.n_rot / 2;
  // NORM pairs neighbours; NEOX pairs dim i with dim i + n_rot/2 (the converter leaves qwen2 unpermuted).
  const int stride = p.type == RopeType::kNorm ? 1 : half;
  for (int h = 0; h < n_heads; ++h) {
    float* v = x + size_t(h) * size_t(head_dim);
    for (int i = 0; i < half; ++i) {
      const int i0 = p.type == RopeType::kNorm ? 2 * i : i;
      const float c = cos_sin[2 * size_t(i)], s = cos_sin[2 * size_t(i) + 1];
      const float a = v[i0], b = v[i0 + stride];
      v[i0] = a * c - b * s;
      v[i0 + stride] = a * s + b * c;
    }
  }
}

void softmax_reference(float* x, int n) {
  float max = x[0];
  for (int i = 1; i < n; ++i) max = x[i] > max ? x[i] : max;
  double sum = 0.0;
  for (int i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += double(x[i]);
  }
  const float inv = float(1.0 / sum);
  for (int i = 0; i < n; ++i) x[i] *= inv;
}

void silu_mul_reference(float* gate, const float* up, int n) {
  for (int i = 0; i < n; ++i) {
    const float g = gate[i];
    gate[i] = (g / (1.0f + std::exp(-g))) * up[i];
  }
}

void add_reference(float* x, const float* y, int n) {
  for (int i = 0; i < n; ++i) x[i] += y[i];
}

void scale_reference(float* x, int n, float s) {
  for (int i = 0; i < n; ++i) x[i] *= s;
}

void axpy_reference(float* y, float a, const float* x, int n) {
  for (int i = 0; i < n; ++i) y[i] += a * x[i];
}

void accumulate_rows_reference(float* y, const float* p, const float* rows, int n_rows, int n) {
  for (int j = 0; j < n_rows; ++j) axpy_reference(y, p[j], rows + size_t(j) * size_t(n), n);
}

namespace {

const OpsKernels kReferenceOps{rmsnorm_reference, rope_apply_reference, softmax_reference,
                               silu_mul_reference, add_reference,       scale_reference,
                               axpy_reference,     accumulate_rows_reference, "scalar"};

#if defined(__aarch64__)
const OpsKernels kNeonOps = make_ops_kernels<xsimd::neon64>("neon");
#endif

const OpsKernels& select_ops() {
  const OpsKernels* t = ops_kernels_for(kernels().isa);
  return t ? *t : kReferenceOps;
}

}  // namespace

const OpsKernels* ops_kernels_for(Isa isa) {
  if (isa == Isa::kScalar) return &kReferenceOps;
  if (!kernel_table(isa)) return nullptr;  // not in this build or not on this CPU
#if defined(__x86_64__) || defined(_M_X64)
  if (isa == Isa::kAvx512) return &ops_kernels_avx512();
  if (isa == Isa::kAvx2) return &ops_kernels_avx2();
#endif
#if defined(__aarch64__)
  if (isa == Isa::kNeon) return &kNeonOps;
#endif
  return nullptr;
}

const OpsKernels& ops_kernels() {
  static const OpsKernels& t = select_ops();
  return t;
}

void rmsnorm(const float* x, const float* w, float* out, int n, float eps) { ops_kernels().rmsnorm(x, w, out, n, eps); }
void rope_apply(float* x, int n_heads, int head_dim, const RopeParams& p, const float* cos_sin) {
  ops_kernels().rope_apply(x, n_heads, head_dim, p, cos_sin);
}
void softmax(float* x, int n) { ops_kernels().softmax(x, n); }
void silu_mul(float* gate, const float* up, int n) { ops_kernels().silu_mul(gate, up, n); }
void add(float* x, const float* y, int n) { ops_kernels().add(x, y, n); }
void scale(float* x, int n, float s) { ops_kernels().scale(x, n, s); }
void axpy(float* y, float a, const float* x, int n) { ops_kernels().axpy(y, a, x, n); }

}  // namespace kq
