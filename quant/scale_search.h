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

// Batched searches: `groups` independent groups of n values, group g at x + n*g (weights, levels
// likewise), scale to scales[g]. Each group gets exactly the bytes of the single-group search; the
// kernel table (quant/kernels.h) runs several groups at once in SIMD lanes, one group per lane, so
// every float sum keeps its order.

// Parameters of make_qkx2_quants (default_x2 false) / make_qkx3_quants (default_x2 true).
struct AsymmetricSearch {
  int n = 32;
  int nmax = 15;
  float rmin = -1.0f;
  float rdelta = 0.1f;
  int nstep = 20;
  bool use_mad = false;
  bool default_x2 = false;
};
// Asymmetric searches; the_mins[g] gets group g's -min (>= 0).
void make_qkx_quants_batch(const AsymmetricSearch& p, int groups, const float* x, const float* weights, uint8_t* levels,
                           float* scales, float* the_mins);
// make_qx_quants on each group (w: null, or n weights per group).
void make_qx_quants_batch(int groups, int n, int nmax, const float* x, int8_t* levels, int rmse_type, const float* w,
                          float* scales);

// The scalar references of the batched searches (what every ISA's version must equal byte for byte).
void make_qkx_quants_batch_scalar(const AsymmetricSearch& p, int groups, const float* x, const float* weights,
                                  uint8_t* levels, float* scales, float* the_mins);
void make_qx_quants_batch_scalar(int groups, int n, int nmax, const float* x, int8_t* levels, int rmse_type,
                                 const float* w, float* scales);

using AsymmetricBatchFn = decltype(&make_qkx_quants_batch_scalar);
using QxBatchFn = decltype(&make_qx_quants_batch_scalar);

// The kernel table's entries for the batched searches.
struct ScaleSearchKernels {
  AsymmetricBatchFn asymmetric = make_qkx_quants_batch_scalar;
  QxBatchFn qx = make_qx_quants_batch_scalar;
};

}  // namespace kq
