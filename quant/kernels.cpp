// Kernel dispatch: builds each ISA level's table (scalar, then the level's own kernels on top)
// and picks one once, from KQ_ISA or the CPU's best level.
#include "quant/kernels.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "common/error.h"
#include "common/fp16.h"
#include "quant/q8_0.h"
#include "quant/q8_0h.h"
#include "quant/q8_1.h"

namespace kq {
namespace {

// Quantizes one 32-element block the way ggml's AVX2/AVX-512 quantize_row_q8_0/q8_1 do:
// d = amax/127, q = nearest-even(x · 127/amax). Returns d in f32 and Σq (Q8_1's s = d·Σq).
float quantize_block_x86(const float* x, int8_t* qs, int& sum) {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[j]));
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  sum = 0;
  for (int j = 0; j < 32; ++j) {
    qs[j] = int8_t(std::nearbyint(x[j] * id));  // default rounding mode: nearest, ties to even
    sum += qs[j];
  }
  return amax / 127.0f;
}

void convert_q8_0(const float* x, void* dst, int64_t n) {
  BlockQ8_0* y = static_cast<BlockQ8_0*>(dst);
  for (int64_t b = 0; b < n / 32; ++b) {
    int sum;
    y[b].d = fp32_to_fp16(quantize_block_x86(x + 32 * b, y[b].qs, sum));
  }
}

void convert_q8_1(const float* x, void* dst, int64_t n) {
  BlockQ8_1* y = static_cast<BlockQ8_1*>(dst);
  for (int64_t b = 0; b < n / 32; ++b) {
    int sum;
    const float d = quantize_block_x86(x + 32 * b, y[b].qs, sum);
    y[b].d = fp32_to_fp16(d);
    y[b].s = fp32_to_fp16(d * float(sum));
  }
}

void convert_q8_0h(const float* x, void* dst, int64_t n) { quantize_row_q8_0h(x, dst, n, nullptr); }
void convert_q8_k(const float* x, void* dst, int64_t n) { type_traits(QType::Q8_K).from_float(x, dst, n, nullptr); }
void convert_f16(const float* x, void* dst, int64_t n) { type_traits(QType::F16).from_float(x, dst, n, nullptr); }
void convert_bf16(const float* x, void* dst, int64_t n) { type_traits(QType::BF16).from_float(x, dst, n, nullptr); }
void convert_f32(const float* x, void* dst, int64_t n) { std::memcpy(dst, x, size_t(n) * sizeof(float)); }

std::unique_ptr<KernelTable> build(Isa isa) {
  const CpuFeatures& cpu = cpu_features();
  if (!cpu.supports(isa)) return nullptr;
  auto t = std::make_unique<KernelTable>();
  t->isa = Isa::kScalar;
  fill_kernels_scalar(*t);
  switch (isa) {
    case Isa::kScalar: break;
#if defined(__x86_64__)
    case Isa::kAvx2:
      fill_kernels_avx2(*t, cpu);
      fill_gemm_avx2(*t, cpu);
      break;
    case Isa::kAvx512:
      fill_kernels_avx2(*t, cpu);
      fill_gemm_avx2(*t, cpu);
      fill_kernels_avx512(*t, cpu);
      fill_gemm_avx512(*t, cpu);
      break;
#endif
#if defined(__aarch64__)
    case Isa::kNeon:
      fill_kernels_neon(*t, cpu);
      fill_gemm_neon(*t, cpu);
      break;
#endif
    default: return nullptr;
  }
  t->isa = isa;
  return t;
}

struct Tables {
  std::unique_ptr<KernelTable> by_isa[4];
  Tables() {
    for (Isa i : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kNeon}) by_isa[int(i)] = build(i);
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

const KernelTable& select() {
  const char* env = std::getenv("KQ_ISA");
  const CpuFeatures& cpu = cpu_features();
  if (!env || !*env) return *kernel_table(cpu.best());
  for (Isa i : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kNeon}) {
    if (std::string(env) != isa_name(i)) continue;
    if (const KernelTable* t = kernel_table(i)) return *t;
    throw Error(std::string("KQ_ISA=") + env + " is not available on this CPU or build (CPU features: " +
                cpu.summary() + "; best level: " + isa_name(cpu.best()) + ")");
  }
  throw Error(std::string("KQ_ISA=") + env + " is not a level; use scalar, avx2, avx512 or neon");
}

}  // namespace

void fill_kernels_scalar(KernelTable& t) {
  // The registry's reference dot products; mul_rows stays null, so callers use mul_rows_by_vec_dot.
  for (size_t i = 0; i < kTypeCount; ++i) {
    TypeKernels& k = t[kTypeTraits[i].type];
    k.vec_dot = kTypeTraits[i].vec_dot;
    k.name = "scalar";
  }
  t.convert[uint32_t(QType::Q8_0)] = convert_q8_0;
  t.convert[uint32_t(QType::Q8_1)] = convert_q8_1;
  t.convert[uint32_t(QType::Q8_0H)] = convert_q8_0h;
  t.convert[uint32_t(QType::Q8_K)] = convert_q8_k;
  t.convert[uint32_t(QType::F16)] = convert_f16;
  t.convert[uint32_t(QType::BF16)] = convert_bf16;
  t.convert[uint32_t(QType::F32)] = convert_f32;
  for (auto& n : t.convert_name) n = "scalar";
}

void convert_row_reference(QType type, const float* x, void* dst, int64_t n) {
  kernel_table(Isa::kScalar)->convert[static_cast<uint32_t>(type)](x, dst, n);
}

void mul_rows_by_vec_dot(VecDotFn dot, const MatmulTile& t) {
  for (int tok = 0; tok < t.n_tok; ++tok) {
    const uint8_t* a = t.act + size_t(tok) * t.act_stride;
    float* y = t.y + size_t(tok) * t.ldy;
    for (int64_t r = 0; r < t.n_rows; ++r) y[r] = dot(t.k, t.w + size_t(r) * t.w_stride, a);
  }
}

void run_tile(const TypeKernels& k, const MatmulTile& tile) {
  if (k.gemm && tile.n_tok >= k.gemm_min_tokens) {
    k.gemm(tile);
  } else if (k.mul_rows) {
    k.mul_rows(tile);
  } else {
    mul_rows_by_vec_dot(k.vec_dot, tile);
  }
}

const KernelTable* kernel_table(Isa isa) { return tables().by_isa[int(isa)].get(); }

const KernelTable& kernels() {
  static const KernelTable& t = select();
  return t;
}

}  // namespace kq
