// AVX2 batched scale searches: eight groups at once, one per lane (quant/scale_search_lanes.h).
#include <immintrin.h>

#include "quant/scale_search_lanes.h"
#include "quant/simd_avx2.h"

namespace kq::avx2 {
namespace {

struct Lanes8 {
  using F = __m256;
  using I = __m256i;
  using M = __m256;  // all-ones lanes where true
  static constexpr int kLanes = 8;

  static F zero() { return _mm256_setzero_ps(); }
  static F set1(float v) { return _mm256_set1_ps(v); }
  static I seti(int v) { return _mm256_set1_epi32(v); }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static F sqrt(F a) { return _mm256_sqrt_ps(a); }
  static F abs(F a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  static F neg(F a) { return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f)); }
  static F min_ps(F a, F b) { return _mm256_min_ps(a, b); }
  static F max_ps(F a, F b) { return _mm256_max_ps(a, b); }
  static M gt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static M lt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static M le(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
  static M neq_uq(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_NEQ_UQ); }
  static F select(M m, F t, F f) { return _mm256_blendv_ps(f, t, m); }
  static M mask_and(M a, M b) { return _mm256_and_ps(a, b); }
  static bool any(M m) { return _mm256_movemask_ps(m) != 0; }
  static F gather(const float* p, int stride) {
    const I idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(stride));
    return _mm256_i32gather_ps(p, idx, 4);
  }
  // The scalar round_ne's 1.5·2^23 bias trick, so NaN and huge values give the same ints too.
  static I round_ne(F v) {
    const I bits = _mm256_castps_si256(_mm256_add_ps(v, _mm256_set1_ps(12582912.0f)));
    return _mm256_sub_epi32(_mm256_and_si256(bits, _mm256_set1_epi32(0x7FFFFF)), _mm256_set1_epi32(0x400000));
  }
  static F clamp_to_float(I l, I lo, I hi) { return _mm256_cvtepi32_ps(_mm256_max_epi32(lo, _mm256_min_epi32(hi, l))); }
  static void store_ints(int32_t* out, F v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_cvttps_epi32(v));
  }
  static void store(float* out, F v) { _mm256_storeu_ps(out, v); }
};

}  // namespace

// Named, not only in the table: the AVX-512 searches hand their tails to these.
void scale_search_asymmetric(const AsymmetricSearch& p, int groups, const float* x, const float* weights,
                             uint8_t* levels, float* scales, float* the_mins) {
  lanes::asymmetric_batch<Lanes8, make_qkx_quants_batch_scalar>(p, groups, x, weights, levels, scales, the_mins);
}

void scale_search_symmetric(int groups, int n, int nmax, const float* x, int8_t* levels, int rmse_type,
                            const float* w, float* scales) {
  lanes::symmetric_batch<Lanes8, make_qx_quants_batch_scalar>(groups, n, nmax, x, levels, rmse_type, w, scales);
}

void fill_scale_search(KernelTable& t) {
  t.search.asymmetric = scale_search_asymmetric;
  t.search.qx = scale_search_symmetric;
}

}  // namespace kq::avx2
