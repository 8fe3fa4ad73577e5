// NEON kernels for baseline ARMv8-A: int8 dots with vmull_s8 + vpadalq_s16, F32/F16/BF16 dots,
// and the activation converters; the dotprod file replaces the integer kernels where present.
#include "quant/kernels.h"

#if defined(__aarch64__)

#include <arm_neon.h>

#include <cmath>
#include <cstring>

#include "common/fp16.h"
#include "quant/q8_0.h"
#include "quant/q8_0h.h"
#include "quant/q8_1.h"
#include "quant/q8_k.h"
#include "quant/simd_neon.h"

namespace kq {

// quant/kernels_neondot.cpp (built with +dotprod): the integer kernels with vdotq_s32.
void fill_kernels_neondot(KernelTable& t);

namespace {

// Exact int8 dot step on ARMv8.0: the int16 products cannot overflow, pairwise adds widen to int32.
struct DotNeon {
  static int32x4_t dot(int32x4_t acc, int8x16_t a, int8x16_t b) {
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    return vpadalq_s16(acc, vmull_high_s8(a, b));
  }
};

// ---- F32 / F16 / BF16 -------------------------------------------------------------------------

// Loads 8 values of a float row as two float32x4, and one value for the tail.
struct LoadF32 {
  static void load(const void* p, int64_t i, float32x4_t& a, float32x4_t& b) {
    const float* f = static_cast<const float*>(p) + i;
    a = vld1q_f32(f);
    b = vld1q_f32(f + 4);
  }
  static float one(const void* p, int64_t i) { return static_cast<const float*>(p)[i]; }
};

struct LoadF16 {
  static void load(const void* p, int64_t i, float32x4_t& a, float32x4_t& b) {
    const float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(static_cast<const uint16_t*>(p) + i));
    a = vcvt_f32_f16(vget_low_f16(h));
    b = vcvt_high_f32_f16(h);
  }
  static float one(const void* p, int64_t i) { return neon::fp16_to_fp32_fcvt(static_cast<const uint16_t*>(p)[i]); }
};

struct LoadBF16 {
  static void load(const void* p, int64_t i, float32x4_t& a, float32x4_t& b) {
    const uint16x8_t h = vld1q_u16(static_cast<const uint16_t*>(p) + i);
    a = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16));
    b = vreinterpretq_f32_u32(vshll_high_n_u16(h, 16));
  }
  static float one(const void* p, int64_t i) { return bf16_to_fp32(static_cast<const uint16_t*>(p)[i]); }
};

// Weight rows of type L (F16 and BF16 widen exactly) against f32 activation rows (A). Like the
// reference, each product is rounded to f32 and summed in double; here in 8 double lanes, then the tail in order. R weight rows × T activation rows into
// y[t·ldy + r]: each 8-value chunk is loaded (and widened) once for all rows or all tokens, and
// per (row, token) the operations are those of R = T = 1.
template <class L, int R, int T, class A = LoadF32>
void float_tile(int64_t n, const uint8_t* w, size_t ws, const uint8_t* act, size_t as, float* y, size_t ldy) {
  float64x2_t acc[R][T][4];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t)
      for (auto& v : acc[r][t]) v = vdupq_n_f64(0.0);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    float32x4_t a[T][2];
    for (int t = 0; t < T; ++t) A::load(act + size_t(t) * as, i, a[t][0], a[t][1]);
    for (int r = 0; r < R; ++r) {
      float32x4_t x0, x1;
      L::load(w + size_t(r) * ws, i, x0, x1);
      for (int t = 0; t < T; ++t) {
        const float32x4_t p0 = vmulq_f32(x0, a[t][0]), p1 = vmulq_f32(x1, a[t][1]);
        float64x2_t* c = acc[r][t];
        c[0] = vaddq_f64(c[0], vcvt_f64_f32(vget_low_f32(p0)));
        c[1] = vaddq_f64(c[1], vcvt_high_f64_f32(p0));
        c[2] = vaddq_f64(c[2], vcvt_f64_f32(vget_low_f32(p1)));
        c[3] = vaddq_f64(c[3], vcvt_high_f64_f32(p1));
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) {
      const float64x2_t* c = acc[r][t];
      double s = vaddvq_f64(vaddq_f64(vaddq_f64(c[0], c[1]), vaddq_f64(c[2], c[3])));
      const uint8_t* x = w + size_t(r) * ws;
      const uint8_t* a = act + size_t(t) * as;
      for (int64_t j = i; j < n; ++j) s += double(L::one(x, j) * A::one(a, j));
      y[size_t(t) * ldy + size_t(r)] = float(s);
    }
  }
}

template <class L>
float float_vec_dot(int64_t n, const void* x, const void* y) {
  float out;
  float_tile<L, 1, 1>(n, static_cast<const uint8_t*>(x), 0, static_cast<const uint8_t*>(y), 0, &out, 0);
  return out;
}

// Decode: 4 rows share each activation chunk. With 4 or more tokens: one row × 4 tokens (the
// 4·4 double accumulators fill the register file).
template <class L>
void float_mul_rows(const MatmulTile& t) {
  const auto wrow = [&](int64_t r) { return t.w + size_t(r) * t.w_stride; };
  int tok = 0;
  for (; tok + 4 <= t.n_tok; tok += 4) {
    const uint8_t* a = t.act + size_t(tok) * t.act_stride;
    float* y = t.y + size_t(tok) * t.ldy;
    for (int64_t r = 0; r < t.n_rows; ++r) float_tile<L, 1, 4>(t.k, wrow(r), t.w_stride, a, t.act_stride, y + r, t.ldy);
  }
  for (; tok < t.n_tok; ++tok) {
    const uint8_t* a = t.act + size_t(tok) * t.act_stride;
    float* y = t.y + size_t(tok) * t.ldy;
    int64_t r = 0;
    for (; r + 4 <= t.n_rows; r += 4) float_tile<L, 4, 1>(t.k, wrow(r), t.w_stride, a, 0, y + r, 0);
    for (; r < t.n_rows; ++r) float_tile<L, 1, 1>(t.k, wrow(r), t.w_stride, a, 0, y + r, 0);
  }
}

template <class L>
void set_float_kernels(KernelTable& t, QType type) {
  TypeKernels& k = t[type];
  k.vec_dot = float_vec_dot<L>;
  k.mul_rows = float_mul_rows<L>;
  k.name = "neon";
}

// ---- activation converters (byte-identical to convert_row_reference) --------------------------

// Largest |x| over n floats (n a multiple of 4); NaNs are skipped like fmax and `ax > amax` do.
float abs_max(const float* x, int n) {
  float32x4_t m = vdupq_n_f32(0.0f);
  for (int i = 0; i < n; i += 4) m = vmaxnmq_f32(m, vabsq_f32(vld1q_f32(x + i)));
  return vmaxnmvq_f32(m);
}

// int32 lanes to int8 with C's wrap-around conversion (the reference's int8_t casts).
int8x16_t narrow_s32(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
  const int16x8_t lo = vcombine_s16(vmovn_s32(a), vmovn_s32(b));
  const int16x8_t hi = vcombine_s16(vmovn_s32(c), vmovn_s32(d));
  return vcombine_s8(vmovn_s16(lo), vmovn_s16(hi));
}

// One 32-element block the way the reference's x86-style quantizer does it: d = amax/127 and
// q = round-half-even(x·(127/amax)). Returns d and sets sum = Σq.
float quantize_block_q8(const float* x, int8_t* qs, int& sum) {
  const float amax = abs_max(x, 32);
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  int32x4_t q[8];
  for (int i = 0; i < 8; ++i) q[i] = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + 4 * i), id));
  const int8x16_t lo = narrow_s32(q[0], q[1], q[2], q[3]);
  const int8x16_t hi = narrow_s32(q[4], q[5], q[6], q[7]);
  vst1q_s8(qs, lo);
  vst1q_s8(qs + 16, hi);
  sum = int(vaddlvq_s8(lo)) + int(vaddlvq_s8(hi));
  return amax / 127.0f;
}

void convert_q8_0(const float* x, void* dst, int64_t n) {
  BlockQ8_0* y = static_cast<BlockQ8_0*>(dst);
  for (int64_t b = 0; b < n / 32; ++b) {
    int sum;
    y[b].d = fp32_to_fp16(quantize_block_q8(x + 32 * b, y[b].qs, sum));
  }
}

// Q8_0H: d = amax/127 and q = round-half-even(x·(127/amax)) per 16-element half.
void convert_q8_0h(const float* x, void* dst, int64_t n) {
  BlockQ8_0H* y = static_cast<BlockQ8_0H*>(dst);
  for (int64_t b = 0; b < n / 32; ++b)
    for (int h = 0; h < 2; ++h) {
      const float* xh = x + 32 * b + 16 * h;
      const float amax = abs_max(xh, 16);
      const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
      int32x4_t q[4];
      for (int i = 0; i < 4; ++i) q[i] = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(xh + 4 * i), id));
      vst1q_s8(y[b].qs + 16 * h, narrow_s32(q[0], q[1], q[2], q[3]));
      y[b].d[h] = fp32_to_fp16(amax / 127.0f);
    }
}

void convert_q8_1(const float* x, void* dst, int64_t n) {
  BlockQ8_1* y = static_cast<BlockQ8_1*>(dst);
  for (int64_t b = 0; b < n / 32; ++b) {
    int sum;
    const float d = quantize_block_q8(x + 32 * b, y[b].qs, sum);
    y[b].d = fp32_to_fp16(d);
    y[b].s = fp32_to_fp16(d * float(sum));
  }
}

void convert_q8_k(const float* src, void* dst, int64_t n) {
  BlockQ8K* y = static_cast<BlockQ8K*>(dst);
  for (int64_t b = 0; b < n / 256; ++b) {
    const float* x = src + 256 * b;
    const float amax = abs_max(x, 256);
    if (amax == 0.0f) {
      std::memset(&y[b], 0, sizeof(BlockQ8K));
      continue;
    }
    int j = 0;
    while (!(std::fabs(x[j]) == amax)) ++j;  // the first element of largest magnitude
    const float max = x[j];
    const float iscale = -127.0f / max;
    if (!std::isfinite(iscale)) {
      quantize_row_q8_k(x, &y[b], 256, nullptr);  // tiny max: the reference's other formula
      continue;
    }
    // round_ne exactly as the reference computes it: add 1.5·2^23 and read the mantissa.
    const float32x4_t magic = vdupq_n_f32(12582912.0f);
    const int32x4_t bias = vdupq_n_s32(0x400000), top = vdupq_n_s32(127);
    const uint32x4_t man = vdupq_n_u32(0x7FFFFF);
    for (int g = 0; g < 16; ++g) {
      int32x4_t q[4];
      for (int i = 0; i < 4; ++i) {
        const float32x4_t v = vaddq_f32(vmulq_n_f32(vld1q_f32(x + 16 * g + 4 * i), iscale), magic);
        const int32x4_t r = vsubq_s32(vreinterpretq_s32_u32(vandq_u32(vreinterpretq_u32_f32(v), man)), bias);
        q[i] = vminq_s32(r, top);
      }
      const int8x16_t q8 = narrow_s32(q[0], q[1], q[2], q[3]);
      vst1q_s8(y[b].qs + 16 * g, q8);
      y[b].bsums[g] = int16_t(vaddlvq_s8(q8));
    }
    y[b].d = 1.0f / iscale;
  }
}

void convert_f16(const float* x, void* dst, int64_t n) {
  uint16_t* y = static_cast<uint16_t*>(dst);
  int64_t i = 0;
  // FCVTN rounds to nearest even (the default FPCR mode), keeps subnormals, overflows to inf and
  // quiets NaNs keeping the top payload bits: the same bits as fp32_to_fp16.
  for (; i + 8 <= n; i += 8) {
    const float16x8_t h = vcvt_high_f16_f32(vcvt_f16_f32(vld1q_f32(x + i)), vld1q_f32(x + i + 4));
    vst1q_u16(y + i, vreinterpretq_u16_f16(h));
  }
  for (; i < n; ++i) y[i] = fp32_to_fp16(x[i]);
}

void convert_bf16(const float* x, void* dst, int64_t n) {
  uint16_t* y = static_cast<uint16_t*>(dst);
  int64_t i = 0;
  const uint32x4_t abs_mask = vdupq_n_u32(0x7FFFFFFF), inf = vdupq_n_u32(0x7F800000);
  const uint32x4_t half = vdupq_n_u32(0x7FFF), one = vdupq_n_u32(1), quiet = vdupq_n_u32(0x40);
  const auto round4 = [&](const float* p) {
    const uint32x4_t u = vreinterpretq_u32_f32(vld1q_f32(p));
    const uint32x4_t is_nan = vcgtq_u32(vandq_u32(u, abs_mask), inf);
    const uint32x4_t rounded = vshrq_n_u32(vaddq_u32(vaddq_u32(u, half), vandq_u32(vshrq_n_u32(u, 16), one)), 16);
    const uint32x4_t nan = vorrq_u32(vshrq_n_u32(u, 16), quiet);
    return vmovn_u32(vbslq_u32(is_nan, nan, rounded));
  };
  for (; i + 8 <= n; i += 8) vst1q_u16(y + i, vcombine_u16(round4(x + i), round4(x + i + 4)));
  for (; i < n; ++i) y[i] = fp32_to_bf16(x[i]);
}

}  // namespace

void fill_kernels_neon(KernelTable& t, const CpuFeatures& cpu) {
  neon::fill_quant_kernels<DotNeon>(t, "neon");
  set_float_kernels<LoadF32>(t, QType::F32);
  set_float_kernels<LoadF16>(t, QType::F16);
  set_float_kernels<LoadBF16>(t, QType::BF16);
  t.convert[uint32_t(QType::Q8_0)] = convert_q8_0;
  t.convert[uint32_t(QType::Q8_1)] = convert_q8_1;
  t.convert[uint32_t(QType::Q8_0H)] = convert_q8_0h;
  t.convert[uint32_t(QType::Q8_K)] = convert_q8_k;
  t.convert[uint32_t(QType::F16)] = convert_f16;
  t.convert[uint32_t(QType::BF16)] = convert_bf16;
  for (QType q : {QType::Q8_0, QType::Q8_0H, QType::Q8_1, QType::Q8_K, QType::F16, QType::BF16})
    t.convert_name[uint32_t(q)] = "neon";
  if (cpu.dotprod) fill_kernels_neondot(t);
}

}  // namespace kq

#else

namespace kq {
void fill_kernels_neon(KernelTable&, const CpuFeatures&) {}
}  // namespace kq

#endif  // __aarch64__
