// Shared pieces of IQ4_NL and IQ4_XS: the non-linear level table and the block scale search.
#pragma once

#include <cstdint>

namespace kq {

// The 16 non-linear levels (formats.md B.5), shared by IQ4_NL and IQ4_XS.
inline constexpr int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};

// Returns the index of the kIq4nlValues entry nearest to x; ties go to the upper entry.
int iq4_nearest_index(float x);

// Quantizes a super-block of n = 32 (IQ4_NL) or 256 (IQ4_XS) values with formats.md's IQ4 search.
// qw: null (weights x^2) or n importance values. Writes the f16 super scale to *dh and n/2 bytes of
// packed indices to qs. For n > 32 it also writes the 6-bit sub-block scales (scales_h/scales_l,
// IQ4_XS packing); for n == 32 those may be null.
void iq4_quantize_super_block(const float* x, int n, const float* qw, uint16_t* dh, uint8_t* qs,
                              uint16_t* scales_h, uint8_t* scales_l);

}  // namespace kq
