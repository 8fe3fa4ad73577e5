// Causal attention of one query head over the KV cache, with llama.cpp's roundings per cache type.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/kv_cache.h"

namespace kq {

// Per-thread working memory for attend_head, sized once per session (no allocation per token).
struct AttentionScratch {
  int head_dim_k = 0;           // Dk
  int head_dim_v = 0;           // Dv
  std::vector<float> scores;    // [n_ctx] scaled scores, then probabilities
  std::vector<uint8_t> q_conv;  // [Dk] query head in the key cache's vec_dot type
  std::vector<uint8_t> p_conv;  // [n_ctx] probabilities in the value cache's vec_dot type (transposed V)
  std::vector<float> v_row;     // [Dv] one dequantized value row (row-layout V)

  AttentionScratch(const KvCache& cache, int dk, int dv);
};

// Writes out ([Dv]) = softmax(scale · K·q) · V over positions 0..n_kv-1 of layer il, for the query
// head q ([Dk]) that reads KV head kv_head. As llama.cpp without flash attention: q is converted
// to the key cache's vec_dot type (F16 for an F16 cache, Q8_0 for Q8_0) before K·q, the softmax is
// f32, and for a transposed (F32/F16) V the probabilities are converted to that type before V·p.
void attend_head(const KvCache& cache, int il, int n_kv, const float* q, int kv_head, float scale, float* out,
                 AttentionScratch& scratch);

}  // namespace kq
