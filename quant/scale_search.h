// Scale searches shared by the quantizers (formats.md C.2): fit a scale (and min) to a group of values.
//
// All of them follow ggml's float evaluation order, so the blocks match llama-quantize byte for byte.
// A group whose largest magnitude is below 1e-15 returns scale 0 with every level 0 (no +nmax offset).
#pragma once

#include <cstdint>

namespace kq {

// Symmetric levels in [-nmax, nmax-1]; writes levels[i] = level + nmax. w may be null (then rmse_type
// picks the weights: 1 -> x^2, 2 -> 1, 3 -> |x|, 4 -> sqrt|x|; 0 returns 1/iscale at once).
// Returns the scale.
float make_qx_quants(int n, int nmax, const float* x, int8_t* levels, int rmse_type, const float* w);

// Q3_K's symmetric search with coordinate descent; writes levels[i] = level + nmax. Returns the scale.
float make_q3_quants(int n, int nmax, const float* x, int8_t* levels, bool do_rmse);

// Asymmetric levels 0..nmax with x ~ scale * levels + min (min <= 0). Writes levels, stores -min (>= 0) in
// *the_min, uses aux_levels as scratch (n bytes). Returns the scale. Null weights count as 1.
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* levels, float* the_min,
                       uint8_t* aux_levels, float rmin, float rdelta, int nstep, bool use_mad);
// As make_qkx2_quants; weights default to x^2 when null.
float make_qkx3_quants(int n, int nmax, const float* x, const float* weights, uint8_t* levels, float* the_min,
                       uint8_t* aux_levels, float rmin, float rdelta, int nstep, bool use_mad);

// Quantizes non-negative values (sub-block scales or mins) to 0..nmax; writes levels, returns the scale.
float make_qp_quants(int n, int nmax, const float* x, uint8_t* levels, const float* quant_weights);

}  // namespace kq
