// Scalar ops of the forward pass; each mirrors ggml's CPU evaluation order so logits agree to ~1e-5.
#include "runtime/ops.h"

#include <cmath>

namespace kq {

void rmsnorm(const float* x, const float* w, float* out, int n, float eps) {
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

void rope_apply(float* x, int n_heads, int head_dim, const RopeParams& p, const float* cos_sin) {
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

void softmax(float* x, int n) {
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

void silu_mul(float* gate, const float* up, int n) {
  for (int i = 0; i < n; ++i) {
    const float g = gate[i];
    gate[i] = (g / (1.0f + std::exp(-g))) * up[i];
  }
}

void add(float* x, const float* y, int n) {
  for (int i = 0; i < n; ++i) x[i] += y[i];
}

}  // namespace kq
