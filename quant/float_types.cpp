// Scalar reference for F32 / F16 / BF16 rows.
#include "quant/float_types.h"

#include <cstring>

#include "common/fp16.h"

namespace kq {

void dequantize_row_f32(const void* src, float* dst, int64_t n) { std::memcpy(dst, src, size_t(n) * 4); }

void quantize_row_f32(const float* src, void* dst, int64_t n, const float*) { std::memcpy(dst, src, size_t(n) * 4); }

float dot_f32_f32(int64_t n, const void* x, const void* y) {
  const float* a = static_cast<const float*>(x);
  const float* b = static_cast<const float*>(y);
  // ggml's reference: each product rounded to f32, the sum accumulated in double.
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += double(a[i] * b[i]);
  return float(sum);
}

void dequantize_row_f16(const void* src, float* dst, int64_t n) {
  const uint16_t* s = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(s[i]);
}

void quantize_row_f16(const float* src, void* dst, int64_t n, const float*) {
  uint16_t* d = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) d[i] = fp32_to_fp16(src[i]);
}

float dot_f16_f32(int64_t n, const void* x, const void* y) {
  const uint16_t* a = static_cast<const uint16_t*>(x);
  const float* b = static_cast<const float*>(y);
  // The weight widens to f32 exactly; the activation stays f32 (not rounded to f16), so the
  // rounding is that of dot_f32_f32: each product to f32, the sum in double.
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += double(fp16_to_fp32(a[i]) * b[i]);
  return float(sum);
}

void dequantize_row_bf16(const void* src, float* dst, int64_t n) {
  const uint16_t* s = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(s[i]);
}

void quantize_row_bf16(const float* src, void* dst, int64_t n, const float*) {
  uint16_t* d = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) d[i] = fp32_to_bf16(src[i]);
}

float dot_bf16_f32(int64_t n, const void* x, const void* y) {
  const uint16_t* a = static_cast<const uint16_t*>(x);
  const float* b = static_cast<const float*>(y);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += double(bf16_to_fp32(a[i]) * b[i]);
  return float(sum);
}

}  // namespace kq
