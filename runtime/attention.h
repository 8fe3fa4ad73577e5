// Causal attention over the KV cache, tiled over query heads × tokens and key positions, with llama.cpp's roundings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "runtime/kv_cache.h"

namespace kq {

constexpr int kAttnMaxQueries = 64;  // query rows (heads × tokens) of one work item
constexpr int kAttnKeyTile = 64;     // key positions multiplied against all of an item's queries at once

// Sizes of one thread's AttentionScratch vectors, in elements of each vector's type (the memory
// planner counts these bytes, and the scratch allocates exactly them).
struct AttentionScratchSizes {
  size_t scores = 0;  // floats
  size_t q_conv = 0;  // bytes
  size_t p_conv = 0;  // bytes
  size_t v_row = 0;   // floats
  size_t tile = 0;    // bytes
  size_t bytes() const { return (scores + v_row) * sizeof(float) + q_conv + p_conv + tile; }
};
AttentionScratchSizes attention_scratch_sizes(QType cache_type, int n_ctx, int head_dim_k, int head_dim_v);

// Per-thread working memory, sized once per session (nothing is allocated per token). It grows
// with n_ctx only: kAttnMaxQueries score rows, never an n_ctx × n_ctx matrix.
struct AttentionScratch {
  int head_dim_k = 0;           // Dk
  int head_dim_v = 0;           // Dv
  int n_ctx = 0;                // length of a score row
  std::vector<float> scores;    // [kAttnMaxQueries][n_ctx] scaled scores, then probabilities
  std::vector<uint8_t> q_conv;  // [kAttnMaxQueries][Dk] queries in the key cache's vec_dot type
  std::vector<uint8_t> p_conv;  // [kAttnMaxQueries][n_ctx] probabilities in the vec_dot type (transposed V)
  std::vector<float> v_row;     // [kAttnKeyTile][Dv] dequantized value rows (row-layout V)
  std::vector<uint8_t> tile;    // GEMM tile scratch of the cache type's kernels

  AttentionScratch(const KvCache& cache, int dk, int dv);
  // Bytes held by the vectors (their capacities).
  size_t allocated_bytes() const;
};

// One layer's causal attention for n_tokens new tokens at positions pos0.. (already in the cache):
// token t's query head h attends to positions 0..pos0+t of KV head h / (n_head / n_head_kv). The
// work is cut into independent items of (KV head, some of its query heads, a run of tokens), so
// each item reads its K and V rows once per key tile for all its queries.
struct AttentionBatch {
  const KvCache* cache = nullptr;
  int il = 0, pos0 = 0, n_tokens = 0;
  int n_head = 0, n_head_kv = 0, head_dim_k = 0, head_dim_v = 0;
  float scale = 1.0f;
  const float* q = nullptr;  // [n_tokens] rows of H·Dk, q_stride floats apart
  size_t q_stride = 0;
  float* out = nullptr;  // [n_tokens] rows of H·Dv, out_stride floats apart
  size_t out_stride = 0;
  int heads_per_item = 1, tokens_per_item = 1;  // set by plan()

  // Sizes the items so that n_threads threads have work (splitting a GQA group only when there
  // are too few items otherwise); returns n_items().
  int plan(int n_threads);
  int n_items() const;
  // Attention of one item. Items write disjoint outputs and may run concurrently. The numerics are
  // attend_head's: the same dot kernels per (query, position), f32 softmax, and for transposed V the
  // probabilities rounded to the cache's vec_dot type (zero past each query's causal limit).
  void run_item(int item, AttentionScratch& s) const;
  // Floating-point work of the whole batch, to decide whether threads pay off.
  double flops() const;
};

// Reference for one query head: out ([Dv]) = softmax(scale · K·q) · V over positions 0..n_kv-1 of
// layer il, KV head kv_head. As llama.cpp without flash attention: q is converted to the key
// cache's vec_dot type (F16 for an F16 cache; for a Q8_0 cache kq's Q8_0H, one scale per 16
// elements, where llama.cpp uses Q8_0) before K·q, the softmax is f32, and for a transposed
// (F32/F16) V the probabilities are converted to that type before V·p.
void attend_head(const KvCache& cache, int il, int n_kv, const float* q, int kv_head, float scale, float* out,
                 AttentionScratch& scratch);

}  // namespace kq
