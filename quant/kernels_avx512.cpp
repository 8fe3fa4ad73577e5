// AVX-512 (F/BW/VL/DQ) kernels: every weight type's vec_dot and mul_rows without VNNI
// (maddubs + madd), and the activation converters, byte-identical to convert_row_reference.
// The VNNI / BF16 forms live in kernels_avx512vnni.cpp and replace these when the CPU has them.
#include <immintrin.h>

#include <cstring>

#include "quant/kernels.h"
#include "quant/q8_k.h"
#include "quant/simd_avx512.h"

namespace kq {
namespace {

// |x| for the amax search: NaN lanes keep acc (vmaxps returns its second operand when either is
// NaN), like std::fmax in the reference.
inline __m512 amax_acc(__m512 acc, __m512 x) { return _mm512_max_ps(_mm512_abs_ps(x), acc); }

inline uint16_t f32_to_f16(float f) { return uint16_t(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT)); }

// One 32-element block as convert_q8_0 / convert_q8_1 do it: d = amax/127, q = nearest-even of
// x·(127/amax) (vcvtps2dq in the default rounding mode, like nearbyint), the int8 the low byte of
// the int32 (like the scalar float -> int8_t conversion). Returns d; *sum = Σq when asked.
inline float q8_block(const float* x, uint8_t* qs, int* sum) {
  const __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16);
  const float amax = _mm512_reduce_max_ps(amax_acc(amax_acc(_mm512_setzero_ps(), x0), x1));
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  const __m512 vid = _mm512_set1_ps(id);
  const __m128i q0 = _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(x0, vid)));
  const __m128i q1 = _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(x1, vid)));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(qs), q0);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + 16), q1);
  if (sum) *sum = _mm512_reduce_add_epi32(_mm512_add_epi32(_mm512_cvtepi8_epi32(q0), _mm512_cvtepi8_epi32(q1)));
  return amax / 127.0f;
}

void convert_q8_0(const float* x, void* dst, int64_t n) {
  uint8_t* y = static_cast<uint8_t*>(dst);
  for (int64_t b = 0; b < n / 32; ++b, y += 34) {
    const uint16_t d = f32_to_f16(q8_block(x + 32 * b, y + 2, nullptr));
    std::memcpy(y, &d, 2);
  }
}

// Q8_0H: each 16-element half as q8_block does a block (d = amax/127 per half).
void convert_q8_0h(const float* x, void* dst, int64_t n) {
  uint8_t* y = static_cast<uint8_t*>(dst);
  for (int64_t b = 0; b < n / 32; ++b, y += 36) {
    uint16_t d[2];
    for (int h = 0; h < 2; ++h) {
      const __m512 v = _mm512_loadu_ps(x + 32 * b + 16 * h);
      const float amax = _mm512_reduce_max_ps(amax_acc(_mm512_setzero_ps(), v));
      const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
      _mm_storeu_si128(reinterpret_cast<__m128i*>(y + 4 + 16 * h),
                       _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v, _mm512_set1_ps(id)))));
      d[h] = f32_to_f16(amax / 127.0f);
    }
    std::memcpy(y, d, 4);
  }
}

void convert_q8_1(const float* x, void* dst, int64_t n) {
  uint8_t* y = static_cast<uint8_t*>(dst);
  for (int64_t b = 0; b < n / 32; ++b, y += 36) {
    int sum;
    const float d = q8_block(x + 32 * b, y + 4, &sum);
    const uint16_t h[2] = {f32_to_f16(d), f32_to_f16(d * float(sum))};
    std::memcpy(y, h, 4);
  }
}

// quantize_row_q8_k: the first element of largest |x| maps to -127; q = min(127, round_ne(x·iscale))
// with round_ne's 1.5·2^23 trick replayed on the bits (so NaN inputs give what the reference gives).
void convert_q8_k(const float* x, void* dst, int64_t n) {
  uint8_t* out = static_cast<uint8_t*>(dst);
  for (int64_t b = 0; b < n / 256; ++b, x += 256, out += sizeof(BlockQ8K)) {
    __m512 v[16];
    __m512 m = _mm512_setzero_ps();
    for (int i = 0; i < 16; ++i) {
      v[i] = _mm512_loadu_ps(x + 16 * i);
      m = amax_acc(m, v[i]);
    }
    const float amax = _mm512_reduce_max_ps(m);
    if (amax == 0.0f) {
      std::memset(out, 0, sizeof(BlockQ8K));
      continue;
    }
    const __m512 vamax = _mm512_set1_ps(amax);
    int first = 0;
    for (int i = 0; i < 16; ++i) {
      const __mmask16 eq = _mm512_cmp_ps_mask(_mm512_abs_ps(v[i]), vamax, _CMP_EQ_OQ);
      if (eq) {
        first = 16 * i + __builtin_ctz(unsigned(eq));
        break;
      }
    }
    const float max = x[first];
    const float iscale = -127.0f / max;
    if (!(iscale - iscale == 0.0f)) {  // not finite: the reference's x/max path, rare enough for scalar
      quantize_row_q8_k(x, out, 256, nullptr);
      continue;
    }
    const __m512 vs = _mm512_set1_ps(iscale), bias = _mm512_set1_ps(12582912.0f);
    const __m512i mant = _mm512_set1_epi32(0x7FFFFF), half = _mm512_set1_epi32(0x400000), top = _mm512_set1_epi32(127);
    int16_t bsums[16];
    for (int i = 0; i < 16; ++i) {
      const __m512 biased = _mm512_add_ps(_mm512_mul_ps(vs, v[i]), bias);
      __m512i q = _mm512_sub_epi32(_mm512_and_si512(_mm512_castps_si512(biased), mant), half);
      q = _mm512_min_epi32(q, top);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 4 + 16 * i), _mm512_cvtepi32_epi8(q));
      bsums[i] = int16_t(_mm512_reduce_add_epi32(_mm512_cvtepi8_epi32(_mm512_cvtepi32_epi8(q))));
    }
    std::memcpy(out + 260, bsums, sizeof(bsums));
    const float d = 1.0f / iscale;
    std::memcpy(out, &d, 4);
  }
}

void convert_f16(const float* x, void* dst, int64_t n) {
  uint8_t* y = static_cast<uint8_t*>(dst);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + 2 * i),
                        _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  if (i < n) {
    const __mmask16 k = __mmask16((1u << (n - i)) - 1);
    _mm256_mask_storeu_epi16(y + 2 * i, k,
                             _mm512_cvtps_ph(_mm512_maskz_loadu_ps(k, x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
}

// fp32_to_bf16 on the bits: round to nearest even, NaN keeps its top half with the quiet bit set.
inline __m256i bf16_16(__m512 f) {
  const __m512i u = _mm512_castps_si512(f);
  const __mmask16 nan =
      _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFFFF)), _mm512_set1_epi32(0x7F800000));
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7FFF)), lsb), 16);
  r = _mm512_mask_or_epi32(r, nan, _mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
  return _mm512_cvtepi32_epi16(r);
}

void convert_bf16(const float* x, void* dst, int64_t n) {
  uint8_t* y = static_cast<uint8_t*>(dst);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + 2 * i), bf16_16(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 k = __mmask16((1u << (n - i)) - 1);
    _mm256_mask_storeu_epi16(y + 2 * i, k, bf16_16(_mm512_maskz_loadu_ps(k, x + i)));
  }
}

}  // namespace

void fill_kernels_avx512(KernelTable& t, const CpuFeatures& cpu) {
  using namespace avx512;
  install<KF32>(t, QType::F32, "avx512f");
  install<KF16>(t, QType::F16, "avx512f");
  install<KBF16>(t, QType::BF16, "avx512f");
  install_quants<false>(t, "avx512bw");

  t.convert[uint32_t(QType::Q8_0)] = convert_q8_0;
  t.convert[uint32_t(QType::Q8_1)] = convert_q8_1;
  t.convert[uint32_t(QType::Q8_0H)] = convert_q8_0h;
  t.convert[uint32_t(QType::Q8_K)] = convert_q8_k;
  t.convert[uint32_t(QType::F16)] = convert_f16;
  t.convert[uint32_t(QType::BF16)] = convert_bf16;
  for (QType q : {QType::Q8_0, QType::Q8_0H, QType::Q8_1, QType::Q8_K, QType::F16, QType::BF16})
    t.convert_name[uint32_t(q)] = "avx512";

  avx512_search::fill_scale_search(t);

  if (cpu.avx512vnni) fill_kernels_avx512vnni(t, cpu);
}

}  // namespace kq
