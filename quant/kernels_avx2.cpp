// AVX2 level of the kernel table: activation converters (byte-identical to convert_row_reference)
// and the per-family decode kernels (quant/kernels_{legacy,kquant,float}_avx2.cpp).
#include <cmath>
#include <cstring>

#include "common/fp16.h"
#include "quant/q8_0.h"
#include "quant/q8_0h.h"
#include "quant/q8_1.h"
#include "quant/q8_k.h"
#include "quant/simd_avx2.h"

namespace kq {
namespace {

using avx2::hsum;

KQ_AVX2_INLINE __m256 abs_ps(__m256 x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }

// Largest lane; NaN lanes of v are skipped the way std::fmax skips them (max_ps returns its
// second operand when the first is NaN).
KQ_AVX2_INLINE float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
  m = _mm_max_ps(_mm_movehl_ps(m, m), m);
  m = _mm_max_ss(_mm_movehdup_ps(m), m);
  return _mm_cvtss_f32(m);
}

// Four vectors of 8 int32 (elements 0..31 in order) -> 32 int8 in order (values fit int8).
KQ_AVX2_INLINE __m256i pack_i32_to_i8(__m256i q0, __m256i q1, __m256i q2, __m256i q3) {
  const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q0, q1), _mm256_packs_epi32(q2, q3));
  // The packs interleave 128-bit lanes: 4-byte groups come out as 0,2,4,6,1,3,5,7.
  return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

KQ_AVX2_INLINE int hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

// One 32-element block as the x86 reference does it: d = amax/127, q = nearest-even(x·127/amax)
// (cvtps_epi32 rounds with MXCSR's default mode, nearest-even, like std::nearbyint). Returns d,
// or -1 when 127/amax is not finite (amax < ~4e-37), a block left to the reference.
KQ_AVX2_INLINE float quantize_block32(const float* x, int8_t* qs, int* sum) {
  const __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8);
  const __m256 v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
  __m256 m = _mm256_setzero_ps();
  m = _mm256_max_ps(abs_ps(v0), m);
  m = _mm256_max_ps(abs_ps(v1), m);
  m = _mm256_max_ps(abs_ps(v2), m);
  m = _mm256_max_ps(abs_ps(v3), m);
  const float amax = hmax(m);
  const float inv = amax != 0.0f ? 127.0f / amax : 0.0f;
  if (!std::isfinite(inv)) return -1.0f;
  const __m256 id = _mm256_set1_ps(inv);
  const __m256i q0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, id)), q1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, id));
  const __m256i q2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, id)), q3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, id));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), pack_i32_to_i8(q0, q1, q2, q3));
  if (sum) *sum = hsum_i32(_mm256_add_epi32(_mm256_add_epi32(q0, q1), _mm256_add_epi32(q2, q3)));
  return amax / 127.0f;
}

void convert_q8_0(const float* x, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_0*>(dst);
  for (int64_t b = 0; b < n / 32; ++b) {
    const float d = quantize_block32(x + 32 * b, y[b].qs, nullptr);
    if (d < 0) convert_row_reference(QType::Q8_0, x + 32 * b, &y[b], 32);
    else y[b].d = fp32_to_fp16(d);
  }
}

// Q8_0H: quantize_block32's rounding per 16-element half, each with its own d.
void convert_q8_0h(const float* x, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_0H*>(dst);
  for (int64_t b = 0; b < n / 32; ++b) {
    for (int h = 0; h < 2; ++h) {
      const float* xh = x + 32 * b + 16 * h;
      const __m256 v0 = _mm256_loadu_ps(xh), v1 = _mm256_loadu_ps(xh + 8);
      const float amax = hmax(_mm256_max_ps(abs_ps(v1), _mm256_max_ps(abs_ps(v0), _mm256_setzero_ps())));
      const float inv = amax != 0.0f ? 127.0f / amax : 0.0f;
      if (!std::isfinite(inv)) {  // amax < ~4e-37: the reference's block
        convert_row_reference(QType::Q8_0H, x + 32 * b, &y[b], 32);
        break;
      }
      const __m256 id = _mm256_set1_ps(inv);
      const __m256i q = _mm256_packs_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(v0, id)),
                                           _mm256_cvtps_epi32(_mm256_mul_ps(v1, id)));  // 0-3, 8-11 | 4-7, 12-15
      const __m128i q16 = _mm_packs_epi16(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
      // q16 bytes: 0-3, 8-11, 4-7, 12-15 (each 4-byte group in order).
      _mm_storeu_si128(reinterpret_cast<__m128i*>(y[b].qs + 16 * h), _mm_shuffle_epi32(q16, _MM_SHUFFLE(3, 1, 2, 0)));
      y[b].d[h] = fp32_to_fp16(amax / 127.0f);
    }
  }
}

void convert_q8_1(const float* x, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_1*>(dst);
  for (int64_t b = 0; b < n / 32; ++b) {
    int sum;
    const float d = quantize_block32(x + 32 * b, y[b].qs, &sum);
    if (d < 0) {
      convert_row_reference(QType::Q8_1, x + 32 * b, &y[b], 32);
      continue;
    }
    y[b].d = fp32_to_fp16(d);
    y[b].s = fp32_to_fp16(d * float(sum));
  }
}

// Q8_K: the signed value of largest magnitude (first on ties) maps to -127; q = min(127,
// nearest-even(iscale·x)), d = 1/iscale, bsums per 16. Blocks the reference treats specially
// (all zero, or -127/max not finite) go to the reference itself.
void convert_q8_k(const float* x, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8K*>(dst);
  for (int64_t b = 0; b < n / 256; ++b) {
    const float* xb = x + 256 * b;
    __m256 m = _mm256_setzero_ps();
    for (int i = 0; i < 256; i += 8) m = _mm256_max_ps(abs_ps(_mm256_loadu_ps(xb + i)), m);
    const float amax = hmax(m);
    float max = 0.0f;
    const __m256 am = _mm256_set1_ps(amax);
    for (int i = 0; i < 256; i += 8) {
      const int hit = _mm256_movemask_ps(_mm256_cmp_ps(abs_ps(_mm256_loadu_ps(xb + i)), am, _CMP_EQ_OQ));
      if (hit) {
        max = xb[i + __builtin_ctz(unsigned(hit))];
        break;
      }
    }
    const float iscale = amax != 0.0f ? -127.0f / max : 0.0f;
    if (amax == 0.0f || !std::isfinite(iscale)) {
      quantize_row_q8_k(xb, &y[b], 256, nullptr);
      continue;
    }
    const __m256 is = _mm256_set1_ps(iscale);
    const __m256i top = _mm256_set1_epi32(127);
    __m256i group[16];  // per-16 sums, 8 partial lanes each
    for (int g = 0; g < 8; ++g) {
      __m256i q[4];
      for (int k = 0; k < 4; ++k)
        q[k] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xb + 32 * g + 8 * k), is)), top);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].qs + 32 * g), pack_i32_to_i8(q[0], q[1], q[2], q[3]));
      group[2 * g] = _mm256_add_epi32(q[0], q[1]);
      group[2 * g + 1] = _mm256_add_epi32(q[2], q[3]);
    }
    for (int g = 0; g < 16; g += 4) {
      // Two rounds of hadd leave each group's two half-sums in the two 128-bit lanes.
      const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(group[g], group[g + 1]),
                                          _mm256_hadd_epi32(group[g + 2], group[g + 3]));
      const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(y[b].bsums + g), _mm_packs_epi32(s, s));
    }
    y[b].d = 1.0f / iscale;
  }
}

// F16C rounds to nearest even exactly as fp32_to_fp16 does (subnormals and overflow to inf
// included); chunks with a NaN go through the scalar encoder so NaN payloads match too.
void convert_f16(const float* x, void* dst, int64_t n) {
  auto* y = static_cast<uint16_t*>(dst);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    if (_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q))) {
      for (int j = 0; j < 8; ++j) y[i + j] = fp32_to_fp16(x[i + j]);
    } else {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
  }
  for (; i < n; ++i) y[i] = fp32_to_fp16(x[i]);
}

// fp32_to_bf16 on 8 lanes: (u + 0x7FFF + lsb) >> 16, NaN -> top half | 0x40.
void convert_bf16(const float* x, void* dst, int64_t n) {
  auto* y = static_cast<uint16_t*>(dst);
  const __m256i one = _mm256_set1_epi32(1), bias = _mm256_set1_epi32(0x7FFF);
  const __m256i abs_mask = _mm256_set1_epi32(0x7FFFFFFF), inf = _mm256_set1_epi32(0x7F800000);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i u = _mm256_castps_si256(_mm256_loadu_ps(x + i));
    const __m256i hi = _mm256_srli_epi32(u, 16);
    const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, bias), _mm256_and_si256(hi, one)), 16);
    const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, abs_mask), inf);
    const __m256i r = _mm256_blendv_epi8(rounded, _mm256_or_si256(hi, _mm256_set1_epi32(0x40)), nan);
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0x08);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), _mm256_castsi256_si128(packed));
  }
  for (; i < n; ++i) y[i] = fp32_to_bf16(x[i]);
}

}  // namespace

void fill_kernels_avx2(KernelTable& t, const CpuFeatures& cpu) {
  if (!cpu.avx2 || !cpu.fma || !cpu.f16c) return;
  avx2::fill_float(t);
  avx2::fill_legacy(t);
  avx2::fill_kquant(t);
  avx2::fill_scale_search(t);
  const QType converted[] = {QType::Q8_0, QType::Q8_0H, QType::Q8_1, QType::Q8_K, QType::F16, QType::BF16};
  t.convert[uint32_t(QType::Q8_0)] = convert_q8_0;
  t.convert[uint32_t(QType::Q8_0H)] = convert_q8_0h;
  t.convert[uint32_t(QType::Q8_1)] = convert_q8_1;
  t.convert[uint32_t(QType::Q8_K)] = convert_q8_k;
  t.convert[uint32_t(QType::F16)] = convert_f16;
  t.convert[uint32_t(QType::BF16)] = convert_bf16;
  for (QType q : converted) t.convert_name[uint32_t(q)] = "avx2";
}

}  // namespace kq
