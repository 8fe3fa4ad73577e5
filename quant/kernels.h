// Kernel tables: per-ISA dot products, multi-row matmul tiles and activation converters, chosen
// once at start-up from the CPU's features (or forced with KQ_ISA=scalar|avx2|avx512|neon).
#pragma once

#include <cstddef>
#include <cstdint>

#include "quant/cpu_features.h"
#include "quant/registry.h"
#include "quant/scale_search.h"

namespace kq {

// One call of a matmul kernel: y[t·ldy + r] = dot(weight row r, activation row t) for r < n_rows,
// t < n_tok. Weight rows are in the tensor's own block format; activation rows are already in
// the weight type's vec_dot_type (Q8_0, Q8_0H, Q8_1, Q8_K, F16, BF16 or F32).
struct MatmulTile {
  int64_t k = 0;                // elements per row (a whole number of blocks of both types)
  const uint8_t* w = nullptr;   // first weight row
  size_t w_stride = 0;          // bytes from one weight row to the next
  int64_t n_rows = 0;           // weight rows in this tile (any count; kernels handle the tail)
  const uint8_t* act = nullptr; // first activation row
  size_t act_stride = 0;        // bytes from one activation row to the next
  int n_tok = 0;                // activation rows (tokens)
  float* y = nullptr;           // y[t·ldy + r]
  size_t ldy = 0;               // floats from one token's outputs to the next
  uint8_t* scratch = nullptr;   // this thread's scratch, gemm_scratch(k) bytes (GEMM kernels only)
};

// Multiplies a tile. Decode kernels share each activation load across several weight rows;
// GEMM kernels may first unpack the tile's rows into an integer layout held in scratch.
using MatmulFn = void (*)(const MatmulTile& tile);
// Converts one activation row of n floats to a vec_dot type (bit-identical to the scalar
// quantize_activations in every ISA: the integers and scales are exact, not approximations).
using ConvertRowFn = void (*)(const float* x, void* dst, int64_t n);
// Scratch bytes one thread needs for a GEMM tile over rows of k elements.
using ScratchFn = size_t (*)(int64_t k);

struct TypeKernels {
  VecDotFn vec_dot = nullptr;       // one weight row · one activation row
  MatmulFn mul_rows = nullptr;      // decode path: any n_rows × few tokens, native weight layout
                                    // (null: mul_rows_by_vec_dot over vec_dot)
  MatmulFn gemm = nullptr;          // prefill path (may be null: mul_rows is used)
  ScratchFn gemm_scratch = nullptr; // per-thread scratch for gemm (null: none)
  int gemm_rows = 16;               // rows per gemm tile that the caller should hand over at once
  int gemm_min_tokens = 1 << 30;    // use gemm when n_tok >= this
  MatmulFn mul_repacked = nullptr;  // any token count on the load-time repacked layout of
                                    // quant/repack.h (tile.w: first row group, w_stride: bytes per
                                    // group, n_rows: whole groups); null: never repacked
  const char* name = "scalar";      // which implementation, for `kq info --cpu`
  const char* gemm_name = "";       // which gemm implementation ("" when none)
  const char* repacked_name = "";   // which repacked-layout kernel ("" when none)
};

constexpr int kMaxTypeId = 64;  // ggml ids and kq's internal ids (quant/registry.h) are below this

struct KernelTable {
  Isa isa = Isa::kScalar;
  TypeKernels types[kMaxTypeId];        // indexed by ggml id; rows of unimplemented ids stay empty
  ConvertRowFn convert[kMaxTypeId]{};   // activation converters, indexed by the target type's id
  const char* convert_name[kMaxTypeId]{};
  ScaleSearchKernels search;            // the quantizers' batched scale searches

  TypeKernels& operator[](QType t) { return types[static_cast<uint32_t>(t)]; }
  const TypeKernels& operator[](QType t) const { return types[static_cast<uint32_t>(t)]; }
};

// The table in use: KQ_ISA when set (an unknown or unsupported level is a kq::Error naming what
// this CPU has), else the best level this CPU supports. Resolved once, thread-safe.
const KernelTable& kernels();
// The table of one level, or nullptr when this build or this CPU lacks it.
const KernelTable* kernel_table(Isa isa);

// Each ISA's file fills in the entries it implements on top of the table of the level below.
// They live in separately compiled files (quant/kernels_<isa>*.cpp) with that ISA's flags.
void fill_kernels_scalar(KernelTable& t);
void fill_kernels_avx2(KernelTable& t, const CpuFeatures& cpu);
void fill_kernels_avx512(KernelTable& t, const CpuFeatures& cpu);
void fill_kernels_neon(KernelTable& t, const CpuFeatures& cpu);
// Prefill GEMM kernels (quant/gemm_*.cpp), filled after the ISA's dot-product kernels.
void fill_gemm_avx2(KernelTable& t, const CpuFeatures& cpu);
void fill_gemm_avx512(KernelTable& t, const CpuFeatures& cpu);
void fill_gemm_neon(KernelTable& t, const CpuFeatures& cpu);
// Kernels for the load-time repacked layouts (quant/kernels_repack_*.cpp).
void fill_repacked_avx512vnni(KernelTable& t);

// Scalar activation conversion (the reference every ISA's converter must equal byte for byte):
// Q8_0 and Q8_1 round x·(127/amax) half-to-even like ggml's x86 kernels, Q8_0H the same per
// 16-element half; other types use the registry's from_float.
void convert_row_reference(QType type, const float* x, void* dst, int64_t n);

// Converts with the selected table's converter.
inline void convert_row(QType type, const float* x, void* dst, int64_t n) {
  kernels().convert[static_cast<uint32_t>(type)](x, dst, n);
}

// Generic multi-row loop over one vec_dot (what the scalar level uses).
void mul_rows_by_vec_dot(VecDotFn dot, const MatmulTile& tile);
// Runs a tile through k's best kernel for its token count: gemm, mul_rows or the vec_dot loop.
void run_tile(const TypeKernels& k, const MatmulTile& tile);

}  // namespace kq
