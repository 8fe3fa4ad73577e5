// attend_head: scores, softmax, weighted values; every dot goes through the type registry.
#include "runtime/attention.h"

#include <algorithm>

#include "quant/registry.h"
#include "runtime/matmul.h"
#include "runtime/ops.h"

namespace kq {

AttentionScratch::AttentionScratch(const KvCache& cache, int dk, int dv)
    : head_dim_k(dk), head_dim_v(dv), scores(size_t(cache.n_ctx())), v_row(size_t(dv)) {
  const QType dot_type = type_traits(cache.type()).vec_dot_type;
  q_conv.resize(row_size(dot_type, dk));
  if (cache.v_transposed()) p_conv.resize(row_size(dot_type, cache.n_ctx()));
}

void attend_head(const KvCache& cache, int il, int n_kv, const float* q, int kv_head, float scale, float* out,
                 AttentionScratch& s) {
  const TypeTraits& ct = type_traits(cache.type());
  const TypeTraits& dt = type_traits(ct.vec_dot_type);
  const int dk = s.head_dim_k, dv = s.head_dim_v;

  // Scores: the query is rounded to the cache's dot type once, then one registry dot per position.
  quantize_activations(dt.type, q, s.q_conv.data(), dk);
  float* p = s.scores.data();
  for (int j = 0; j < n_kv; ++j) p[j] = ct.vec_dot(dk, cache.k_row(il, j, kv_head), s.q_conv.data()) * scale;
  softmax(p, n_kv);

  if (cache.v_transposed()) {
    // V·p: probabilities rounded to the cache type, then one dot per value channel over positions.
    quantize_activations(dt.type, p, s.p_conv.data(), n_kv);
    for (int d = 0; d < dv; ++d) out[d] = ct.vec_dot(n_kv, cache.v_channel(il, kv_head * dv + d), s.p_conv.data());
    return;
  }
  // Row layout (quantized V): accumulate p_j times each dequantized value row.
  std::fill(out, out + dv, 0.0f);
  for (int j = 0; j < n_kv; ++j) {
    ct.to_float(cache.v_row(il, j, kv_head), s.v_row.data(), dv);
    for (int d = 0; d < dv; ++d) out[d] += p[j] * s.v_row[size_t(d)];
  }
}

}  // namespace kq
