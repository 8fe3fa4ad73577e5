// F32, F16 and BF16 rows: conversions and dot products (the unquantized "block" types).
#pragma once

#include <cstdint>

namespace kq {

void dequantize_row_f32(const void* src, float* dst, int64_t n);
void quantize_row_f32(const float* src, void* dst, int64_t n, const float* importance);
float dot_f32_f32(int64_t n, const void* x, const void* y);

void dequantize_row_f16(const void* src, float* dst, int64_t n);
void quantize_row_f16(const float* src, void* dst, int64_t n, const float* importance);
// F16 / BF16 weight rows against f32 activation rows (the weights widen to f32 exactly).
float dot_f16_f32(int64_t n, const void* x, const void* y);

void dequantize_row_bf16(const void* src, float* dst, int64_t n);
void quantize_row_bf16(const float* src, void* dst, int64_t n, const float* importance);
float dot_bf16_f32(int64_t n, const void* x, const void* y);

}  // namespace kq
