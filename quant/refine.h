// kq's default quantizers: the same block formats as llama.cpp, with a refining scale search that
// lowers the weighted error of the decoded values (quant/refine_search.h). The registry lists them
// as from_float_refined; from_float stays the llama.cpp-identical reference.
#pragma once

#include <cstdint>

namespace kq {

// Each quantizes one row of n values (importance: null or n imatrix values), like from_float.
void quantize_row_q4_0_refined(const float* src, void* dst, int64_t n, const float* importance);
void quantize_row_q4_1_refined(const float* src, void* dst, int64_t n, const float* importance);
void quantize_row_q5_0_refined(const float* src, void* dst, int64_t n, const float* importance);
void quantize_row_q5_1_refined(const float* src, void* dst, int64_t n, const float* importance);
void quantize_row_q8_0_refined(const float* src, void* dst, int64_t n, const float* importance);
void quantize_row_iq4_nl_refined(const float* src, void* dst, int64_t n, const float* importance);
void quantize_row_q2_k_refined(const float* src, void* dst, int64_t n, const float* importance);
void quantize_row_q3_k_refined(const float* src, void* dst, int64_t n, const float* importance);
void quantize_row_q4_k_refined(const float* src, void* dst, int64_t n, const float* importance);
void quantize_row_q5_k_refined(const float* src, void* dst, int64_t n, const float* importance);
void quantize_row_q6_k_refined(const float* src, void* dst, int64_t n, const float* importance);
void quantize_row_iq4_xs_refined(const float* src, void* dst, int64_t n, const float* importance);

}  // namespace kq
