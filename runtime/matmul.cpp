// The one matmul entry point: activation conversion, then the kernel table's tiles over row chunks in parallel.
#include "runtime/matmul.h"

#include <omp.h>

#include <algorithm>
#include <cstdint>

#include "common/error.h"
#include "quant/kernels.h"
#include "quant/registry.h"
#include "quant/repack.h"
#include "runtime/matmul_onednn.h"

namespace kq {
namespace {

constexpr size_t kAlign = 64;
size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// Converted activation bytes (0 for F32 weights, which read the activations in place).
size_t activation_bytes(const TensorView& w, int n_tokens) {
  const QType act = type_traits(w.type).vec_dot_type;
  if (act == QType::F32) return 0;
  return align_up(row_size(act, w.ne[0]) * size_t(n_tokens));
}

size_t tile_scratch_bytes(const TypeKernels& k, int64_t n_cols) {
  return k.gemm_scratch ? align_up(k.gemm_scratch(n_cols)) : 0;
}

}  // namespace

void quantize_activations(QType type, const float* x, void* dst, int64_t n) { convert_row(type, x, dst, n); }

size_t matmul_scratch_bytes(const TensorView& w, int n_tokens, int n_threads) {
  const TypeKernels& k = kernels()[w.type];
  const bool repacked = w.repacked && k.mul_repacked;
  const size_t tile = !repacked && n_tokens >= k.gemm_min_tokens ? tile_scratch_bytes(k, w.ne[0]) : 0;
  const size_t own = activation_bytes(w, n_tokens) + tile * size_t(std::max(n_threads, 1)) + kAlign;
  return onednn_matmul_used(w, n_tokens) ? std::max(own, onednn_matmul_scratch_bytes(w, n_tokens, n_threads)) : own;
}

namespace {

// One matmul's layout: where the converted activations and tile scratch lie, and the row chunks.
struct MatmulPlan {
  const TypeKernels* k = nullptr;
  ConvertRowFn convert = nullptr;  // activation converter; null for F32 weights (read in place)
  int64_t n_cols = 0, n_rows = 0;
  size_t act_row = 0;        // bytes of one converted activation row
  uint8_t* act = nullptr;    // [n_tokens][act_row] converted activations (64-byte aligned scratch)
  uint8_t* tiles = nullptr;  // [n_threads][tile_bytes] GEMM tile scratch
  size_t tile_bytes = 0;
  bool repacked = false;
  int64_t chunk = 0, n_chunks = 0;
  bool parallel = false;  // worth a team of threads
};

MatmulPlan plan_matmul(const TensorView& w, const float* x, int n_tokens, uint8_t* scratch, int n_threads) {
  const KernelTable& table = kernels();
  MatmulPlan p;
  p.k = &table[w.type];
  const TypeKernels& k = *p.k;
  const QType act_type = type_traits(w.type).vec_dot_type;
  if (!k.vec_dot) throw Error(std::string("matmul: no dot product for weight type ") + type_name(w.type));
  p.n_cols = w.ne[0];
  p.n_rows = w.n_rows();
  const bool in_place = act_type == QType::F32;
  p.convert = in_place ? nullptr : table.convert[static_cast<uint32_t>(act_type)];
  p.act_row = in_place ? size_t(p.n_cols) * sizeof(float) : row_size(act_type, p.n_cols);
  // Scratch: [converted activations][per-thread tile scratch], each 64-byte aligned.
  uint8_t* base = reinterpret_cast<uint8_t*>(align_up(reinterpret_cast<uintptr_t>(scratch)));
  p.act = in_place ? reinterpret_cast<uint8_t*>(const_cast<float*>(x)) : base;
  // A repacked weight goes through its own kernel for every token count, in whole row groups.
  p.repacked = w.repacked && k.mul_repacked;
  const bool use_gemm = !p.repacked && k.gemm && n_tokens >= k.gemm_min_tokens;
  p.tile_bytes = use_gemm ? tile_scratch_bytes(k, p.n_cols) : 0;
  p.tiles = base + activation_bytes(w, n_tokens);

  // Row chunks: for decode, one contiguous share per thread (a multiple of 16 rows) so each
  // thread streams its own part of the weights.
  const int64_t share = (p.n_rows + n_threads - 1) / std::max(n_threads, 1);
  static_assert(kRepackRows == 16, "repacked chunks use the 16-row shares");
  const int64_t share16 = std::max<int64_t>(16, (share + 15) / 16 * 16);
  // GEMM tiles are at most gemm_rows, and smaller when that is what gives every thread work.
  p.chunk = use_gemm ? std::min<int64_t>(std::max(k.gemm_rows, 1), share16) : share16;
  p.n_chunks = (p.n_rows + p.chunk - 1) / p.chunk;
  p.parallel = n_threads > 1 && p.n_rows * n_tokens * p.n_cols >= 4096;
  return p;
}

// Converts activation row t (a no-op for F32 weights).
void convert_token(const MatmulPlan& p, const float* x, int t) {
  if (p.convert) p.convert(x + size_t(t) * size_t(p.n_cols), p.act + size_t(t) * p.act_row, p.n_cols);
}

// Runs row chunk c of y = W·x on the converted activations, with thread's tile scratch.
void run_chunk(const MatmulPlan& p, const TensorView& w, int n_tokens, float* y, int64_t c, int thread) {
  const int64_t r0 = c * p.chunk;
  MatmulTile t;
  t.k = p.n_cols;
  t.w_stride = w.row_bytes;
  t.act = p.act;
  t.act_stride = p.act_row;
  t.n_tok = n_tokens;
  t.ldy = size_t(p.n_rows);
  t.scratch = p.tiles + size_t(thread) * p.tile_bytes;
  t.n_rows = std::min(p.chunk, p.n_rows - r0);
  t.y = y + r0;
  if (p.repacked) {  // chunks are multiples of 16 rows, as are the tensor's rows
    t.w = w.repacked + size_t(r0) * w.row_bytes;
    t.w_stride = size_t(kRepackRows) * w.row_bytes;
    p.k->mul_repacked(t);
  } else {
    t.w = static_cast<const uint8_t*>(w.row(r0));
    run_tile(*p.k, t);
  }
}

}  // namespace

void matmul(const TensorView& w, const float* x, int n_tokens, float* y, uint8_t* scratch, int n_threads) {
  // Float-weight prefill where oneDNN measured faster (runtime/matmul_onednn.cpp's policy).
  if (onednn_matmul_used(w, n_tokens)) {
    onednn_matmul(w, x, n_tokens, y, scratch, n_threads);
    return;
  }
  const MatmulPlan p = plan_matmul(w, x, n_tokens, scratch, n_threads);
#pragma omp parallel num_threads(n_threads) if (p.parallel)
  {
    // Convert each activation row once for the whole matmul, not once per weight row.
    if (p.convert) {
#pragma omp for schedule(static)
      for (int t = 0; t < n_tokens; ++t) convert_token(p, x, t);
    }
    const int thread = omp_get_thread_num();
#pragma omp for schedule(static)
    for (int64_t c = 0; c < p.n_chunks; ++c) run_chunk(p, w, n_tokens, y, c, thread);
  }
}

bool same_activations(const TensorView& a, const TensorView& b) {
  return type_traits(a.type).vec_dot_type == type_traits(b.type).vec_dot_type && a.ne[0] == b.ne[0];
}

void matmul_convert(const TensorView& w, const float* x, int n_tokens, uint8_t* scratch) {
  const MatmulPlan p = plan_matmul(w, x, n_tokens, scratch, 1);
  for (int t = 0; t < n_tokens; ++t) convert_token(p, x, t);
}

void matmul_rows_in_team(const TensorView& w, const float* x, int n_tokens, float* y, uint8_t* scratch,
                         int n_threads) {
  const MatmulPlan p = plan_matmul(w, x, n_tokens, scratch, n_threads);
  const int thread = omp_get_thread_num();
#pragma omp for schedule(static) nowait
  for (int64_t c = 0; c < p.n_chunks; ++c) run_chunk(p, w, n_tokens, y, c, thread);
}

}  // namespace kq
