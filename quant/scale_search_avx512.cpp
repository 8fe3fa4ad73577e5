// AVX-512 batched scale searches: sixteen groups at once, one per lane (quant/scale_search_lanes.h);
// a tail of fewer than sixteen groups goes to the AVX2 searches.

// GCC 12's AVX-512 intrinsics pass a self-initialized "undefined" vector as the masked-off source,
// which -Wall reports once inlined (as in quant/simd_avx512.h).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <immintrin.h>

#include "quant/scale_search_lanes.h"
#include "quant/simd_avx2.h"

namespace kq::avx512_search {
namespace {

struct Lanes16 {
  using F = __m512;
  using I = __m512i;
  using M = __mmask16;
  static constexpr int kLanes = 16;

  static F zero() { return _mm512_setzero_ps(); }
  static F set1(float v) { return _mm512_set1_ps(v); }
  static I seti(int v) { return _mm512_set1_epi32(v); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  static F sqrt(F a) { return _mm512_sqrt_ps(a); }
  static F abs(F a) { return _mm512_andnot_ps(_mm512_set1_ps(-0.0f), a); }
  static F neg(F a) { return _mm512_xor_ps(a, _mm512_set1_ps(-0.0f)); }
  static F min_ps(F a, F b) { return _mm512_min_ps(a, b); }
  static F max_ps(F a, F b) { return _mm512_max_ps(a, b); }
  static M gt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static M lt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static M le(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
  static M neq_uq(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_NEQ_UQ); }
  static F select(M m, F t, F f) { return _mm512_mask_blend_ps(m, f, t); }
  static M mask_and(M a, M b) { return M(a & b); }
  static bool any(M m) { return m != 0; }
  static F gather(const float* p, int stride) {
    const I idx = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(stride));
    return _mm512_i32gather_ps(idx, p, 4);
  }
  // The scalar round_ne's 1.5·2^23 bias trick, so NaN and huge values give the same ints too.
  static I round_ne(F v) {
    const I bits = _mm512_castps_si512(_mm512_add_ps(v, _mm512_set1_ps(12582912.0f)));
    return _mm512_sub_epi32(_mm512_and_si512(bits, _mm512_set1_epi32(0x7FFFFF)), _mm512_set1_epi32(0x400000));
  }
  static F clamp_to_float(I l, I lo, I hi) { return _mm512_cvtepi32_ps(_mm512_max_epi32(lo, _mm512_min_epi32(hi, l))); }
  static void store_ints(int32_t* out, F v) { _mm512_storeu_si512(out, _mm512_cvttps_epi32(v)); }
  static void store(float* out, F v) { _mm512_storeu_ps(out, v); }
};

}  // namespace

void fill_scale_search(KernelTable& t) {
  lanes::fill_searches<Lanes16, avx2::scale_search_asymmetric, avx2::scale_search_symmetric>(t.search);
}

}  // namespace kq::avx512_search
