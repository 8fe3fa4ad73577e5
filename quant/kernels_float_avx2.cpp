// AVX2 decode kernels for the float weight types (F32, F16, BF16) against f32 activations (F16
// and BF16 weights widen to f32 exactly; the activations are never rounded to the weight type).
// Like the scalar reference, each product is rounded to f32 and the sum is kept in double: four 4-wide double accumulators per (row,
// token), then a scalar tail in the same precision. Float accumulation was measurably worse: it
// moved a BF16 model's step-0 logits by 0.02 against llama.cpp's reference dump.
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

// Adds the 8 products of w·a to two double accumulators (low and high 4 lanes).
KQ_AVX2_INLINE void add_products(__m256 w, __m256 a, __m256d& lo, __m256d& hi) {
  const __m256 p = _mm256_mul_ps(w, a);
  lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(p)));
  hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(p, 1)));
}

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
  __m256d acc[R][T][4];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t)
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) acc[r][t][j] = _mm256_setzero_pd();
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
        add_products(w0[r], a0, acc[r][t][0], acc[r][t][1]);
        add_products(w1[r], a1, acc[r][t][2], acc[r][t][3]);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      const __m256d s4 = _mm256_add_pd(_mm256_add_pd(acc[r][t][0], acc[r][t][1]), _mm256_add_pd(acc[r][t][2], acc[r][t][3]));
      const __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));
      double s = _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
      for (int64_t j = i; j < k; ++j) s += double(L::one(wr[r] + j) * A::one(at[t] + j));
      y[size_t(t) * ldy + size_t(r)] = float(s);
    }
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
