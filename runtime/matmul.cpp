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

void matmul(const TensorView& w, const float* x, int n_tokens, float* y, uint8_t* scratch, int n_threads) {
  // Float-weight prefill where oneDNN measured faster (runtime/matmul_onednn.cpp's policy).
  if (onednn_matmul_used(w, n_tokens)) {
    onednn_matmul(w, x, n_tokens, y, scratch, n_threads);
    return;
  }
  const KernelTable& table = kernels();
  const TypeKernels& k = table[w.type];
  const QType act_type = type_traits(w.type).vec_dot_type;
  if (!k.vec_dot) throw Error(std::string("matmul: no dot product for weight type ") + type_name(w.type));
  const int64_t n_cols = w.ne[0];
  const int64_t n_rows = w.n_rows();
  const bool in_place = act_type == QType::F32;
  const size_t act_row = in_place ? size_t(n_cols) * sizeof(float) : row_size(act_type, n_cols);
  // Scratch: [converted activations][per-thread tile scratch], each 64-byte aligned.
  uint8_t* base = reinterpret_cast<uint8_t*>(align_up(reinterpret_cast<uintptr_t>(scratch)));
  uint8_t* act = in_place ? nullptr : base;
  // A repacked weight goes through its own kernel for every token count, in whole row groups.
  const bool repacked = w.repacked && k.mul_repacked;
  const bool use_gemm = !repacked && k.gemm && n_tokens >= k.gemm_min_tokens;
  const size_t tile_bytes = use_gemm ? tile_scratch_bytes(k, n_cols) : 0;
  uint8_t* tiles = base + activation_bytes(w, n_tokens);

  // Row chunks: for decode, one contiguous share per thread (a multiple of 16 rows) so each
  // thread streams its own part of the weights.
  const int64_t share = (n_rows + n_threads - 1) / std::max(n_threads, 1);
  static_assert(kRepackRows == 16, "repacked chunks use the 16-row shares");
  const int64_t share16 = std::max<int64_t>(16, (share + 15) / 16 * 16);
  // GEMM tiles are at most gemm_rows, and smaller when that is what gives every thread work.
  const int64_t chunk = use_gemm ? std::min<int64_t>(std::max(k.gemm_rows, 1), share16) : share16;
  const int64_t n_chunks = (n_rows + chunk - 1) / chunk;
  const bool parallel = n_threads > 1 && n_rows * n_tokens * n_cols >= 4096;

#pragma omp parallel num_threads(n_threads) if (parallel)
  {
    // Convert each activation row once for the whole matmul, not once per weight row.
    if (!in_place) {
#pragma omp for schedule(static)
      for (int t = 0; t < n_tokens; ++t)
        table.convert[static_cast<uint32_t>(act_type)](x + size_t(t) * size_t(n_cols), act + size_t(t) * act_row,
                                                        n_cols);
    }
    const int thread = omp_get_thread_num();
    MatmulTile tile;
    tile.k = n_cols;
    tile.w_stride = w.row_bytes;
    tile.act = in_place ? reinterpret_cast<const uint8_t*>(x) : act;
    tile.act_stride = act_row;
    tile.n_tok = n_tokens;
    tile.ldy = size_t(n_rows);
    tile.scratch = tiles + size_t(thread) * tile_bytes;
#pragma omp for schedule(static)
    for (int64_t c = 0; c < n_chunks; ++c) {
      const int64_t r0 = c * chunk;
      MatmulTile t = tile;
      t.n_rows = std::min(chunk, n_rows - r0);
      t.y = y + r0;
      if (repacked) {  // chunks are multiples of 16 rows, as are the tensor's rows
        t.w = w.repacked + size_t(r0) * w.row_bytes;
        t.w_stride = size_t(kRepackRows) * w.row_bytes;
        k.mul_repacked(t);
      } else {
        t.w = static_cast<const uint8_t*>(w.row(r0));
        run_tile(k, t);
      }
    }
  }
}

}  // namespace kq
