// AVX2 kernels for the float weight types (F32, F16, BF16) against f32 activations (F16 and BF16
// weights widen to f32 exactly; the activations are never rounded to the weight type). The
// arithmetic is AVX-512's (KFloat in quant/simd_avx512.h) on two 8-lane halves: 16 f32 lanes, lane
// j an FMA chain over elements j, j+16, ..., a partial last chunk padded with zeros, then the same
// fixed tree, so every level from avx2 up gives identical bits for a (row, token), whatever the
// batch. (Double sums per step were used before; with unrounded activations the f32 lanes stay
// within the kld quality bar, and one arithmetic for decode and prefill keeps batches consistent.)
#include "common/fp16.h"
#include "quant/simd_avx2.h"

namespace kq::avx2 {
namespace {

struct F32Load {
  using T = float;
  static KQ_AVX2_INLINE __m256 load8(const T* p) { return _mm256_loadu_ps(p); }
  static KQ_AVX2_INLINE float one(const T* p) { return *p; }
};
struct F16Load {
  using T = uint16_t;
  static KQ_AVX2_INLINE __m256 load8(const T* p) { return _mm256_cvtph_ps(load128(p)); }
  static KQ_AVX2_INLINE float one(const T* p) { return fp16_to_fp32(*p); }
};
struct BF16Load {
  using T = uint16_t;
  static KQ_AVX2_INLINE __m256 load8(const T* p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(p)), 16));
  }
  static KQ_AVX2_INLINE float one(const T* p) { return bf16_to_fp32(*p); }
};

// R weight rows × T tokens over k elements; the same operations for every (row, token) pair.
template <class L, int R, int T>
KQ_AVX2_INLINE void float_group(int64_t k, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride,
                                float* y, size_t ldy) {
  using E = typename L::T;
  using A = F32Load;
  const E* wr[R];
  const float* at[T];
  for (int r = 0; r < R; ++r) wr[r] = reinterpret_cast<const E*>(w + size_t(r) * w_stride);
  for (int t = 0; t < T; ++t) at[t] = reinterpret_cast<const float*>(a + size_t(t) * a_stride);
  __m256 acc[R][T][2];  // lanes 0-7 and 8-15 of the 16-lane accumulator
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) acc[r][t][0] = acc[r][t][1] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= k; i += 16) {
    __m256 w0[R], w1[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      w0[r] = L::load8(wr[r] + i);
      w1[r] = L::load8(wr[r] + i + 8);
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      const __m256 a0 = A::load8(at[t] + i), a1 = A::load8(at[t] + i + 8);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        acc[r][t][0] = _mm256_fmadd_ps(w0[r], a0, acc[r][t][0]);
        acc[r][t][1] = _mm256_fmadd_ps(w1[r], a1, acc[r][t][1]);
      }
    }
  }
  if (i < k) {  // the last partial chunk, zero-padded to 16 like AVX-512's masked loads
    alignas(32) float wp[R][16] = {}, ap[T][16] = {};
    for (int r = 0; r < R; ++r)
      for (int64_t j = i; j < k; ++j) wp[r][j - i] = L::one(wr[r] + j);
    for (int t = 0; t < T; ++t)
      for (int64_t j = i; j < k; ++j) ap[t][j - i] = at[t][j];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) {
        acc[r][t][0] = _mm256_fmadd_ps(_mm256_load_ps(wp[r]), _mm256_load_ps(ap[t]), acc[r][t][0]);
        acc[r][t][1] = _mm256_fmadd_ps(_mm256_load_ps(wp[r] + 8), _mm256_load_ps(ap[t] + 8), acc[r][t][1]);
      }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) y[size_t(t) * ldy + size_t(r)] = hsum(_mm256_add_ps(acc[r][t][0], acc[r][t][1]));
}

// The slab driver's group kernel for float rows: two rows share each activation load for one
// token; with more tokens, each row's weights are loaded once for up to four tokens.
template <class L>
struct FloatGroup {
  static constexpr int kRows1 = 2, kRowsN = 1;
  template <int R, int T>
  static KQ_AVX2_INLINE void run(int64_t k, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride,
                                 float* y, size_t ldy) {
    float_group<L, R, T>(k, w, w_stride, a, a_stride, y, ldy);
  }
};

template <class L>
float float_vec_dot(int64_t n, const void* x, const void* y) {
  float out;
  float_group<L, 1, 1>(n, static_cast<const uint8_t*>(x), 0, static_cast<const uint8_t*>(y), 0, &out, 0);
  return out;
}

template <class L>
void install_float(KernelTable& table, QType type) {
  TypeKernels& k = table[type];
  k.vec_dot = float_vec_dot<L>;
  k.mul_rows = mul_rows_by_groups<FloatGroup<L>>;
  k.name = "avx2";
}

}  // namespace

void fill_float(KernelTable& t) {
  install_float<F32Load>(t, QType::F32);
  install_float<F16Load>(t, QType::F16);
  install_float<BF16Load>(t, QType::BF16);
}

}  // namespace kq::avx2
