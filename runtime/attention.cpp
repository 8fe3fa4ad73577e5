// Attention: tiled work items (K·q and V·p through the kernel table's matmul tiles) and the one-head reference.
#include "runtime/attention.h"

#include <algorithm>
#include <cstring>

#include "quant/kernels.h"
#include "quant/registry.h"
#include "runtime/matmul.h"
#include "runtime/ops.h"
#include "runtime/ops_kernels.h"

namespace kq {

AttentionScratchSizes attention_scratch_sizes(QType cache_type, int n_ctx, int head_dim_k, int head_dim_v) {
  const QType dot_type = type_traits(cache_type).vec_dot_type;
  const size_t q_max = size_t(kAttnMaxQueries);
  AttentionScratchSizes s;
  s.scores = q_max * size_t(n_ctx);
  s.q_conv = q_max * row_size(dot_type, head_dim_k);
  // Only a transposed V (F32/F16 cache) multiplies converted probabilities.
  if (cache_type != QType::Q8_0) s.p_conv = q_max * row_size(dot_type, n_ctx);
  s.v_row = size_t(kAttnKeyTile) * size_t(head_dim_v);
  const TypeKernels& k = kernels()[cache_type];
  if (k.gemm && k.gemm_scratch) s.tile = std::max(k.gemm_scratch(head_dim_k), k.gemm_scratch(n_ctx)) + 64;
  return s;
}

AttentionScratch::AttentionScratch(const KvCache& cache, int dk, int dv)
    : head_dim_k(dk), head_dim_v(dv), n_ctx(cache.n_ctx()) {
  const AttentionScratchSizes s = attention_scratch_sizes(cache.type(), n_ctx, dk, dv);
  scores.resize(s.scores);
  q_conv.resize(s.q_conv);
  p_conv.resize(s.p_conv);
  v_row.resize(s.v_row);
  tile.resize(s.tile);
}

size_t AttentionScratch::allocated_bytes() const {
  return (scores.capacity() + v_row.capacity()) * sizeof(float) + q_conv.capacity() + p_conv.capacity() +
         tile.capacity();
}

int AttentionBatch::n_items() const {
  const int group = n_head / n_head_kv;
  const int splits = (group + heads_per_item - 1) / heads_per_item;
  const int tiles = (n_tokens + tokens_per_item - 1) / tokens_per_item;
  return n_head_kv * splits * tiles;
}

int AttentionBatch::plan(int n_threads) {
  const int group = n_head / n_head_kv;
  heads_per_item = std::min(group, kAttnMaxQueries);
  tokens_per_item = std::clamp(kAttnMaxQueries / heads_per_item, 1, std::max(n_tokens, 1));
  // Decode has one item per KV head; split groups (each part rereads K and V) only to feed the threads.
  while (heads_per_item > 1 && n_items() < 2 * n_threads) heads_per_item = (heads_per_item + 1) / 2;
  return n_items();
}

double AttentionBatch::flops() const {
  const double positions = double(n_tokens) * (double(pos0) + 0.5 * double(n_tokens));
  return positions * double(n_head) * double(head_dim_k + head_dim_v) * 2.0;
}

void AttentionBatch::run_item(int item, AttentionScratch& s) const {
  const KvCache& c = *cache;
  const TypeTraits& ct = type_traits(c.type());
  const QType dt = ct.vec_dot_type;
  const TypeKernels& kk = kernels()[c.type()];
  const OpsKernels& ops = ops_kernels();
  const int group = n_head / n_head_kv;
  const int splits = (group + heads_per_item - 1) / heads_per_item;
  const int tiles = (n_tokens + tokens_per_item - 1) / tokens_per_item;
  // Items run from the last token tile (the longest rows) down, so a dynamic schedule ends evenly.
  const int tt = tiles - 1 - item / (n_head_kv * splits);
  const int g = (item / splits) % n_head_kv;
  const int hs = item % splits;
  const int h0 = g * group + hs * heads_per_item;
  const int nh = std::min(heads_per_item, group - hs * heads_per_item);
  const int t0 = tt * tokens_per_item;
  const int nt = std::min(tokens_per_item, n_tokens - t0);
  const int nq = nh * nt;
  const int n_kv = pos0 + t0 + nt;  // positions the item's last token sees
  const int dk = head_dim_k, dv = head_dim_v;
  const size_t ld = size_t(s.n_ctx);
  // Query row order: token-major when V·p batches an item's heads (more heads than tokens).
  const bool token_major = nh >= nt;
  auto qi = [&](int i, int hh) { return token_major ? i * nh + hh : hh * nt + i; };
  auto len = [&](int i) { return pos0 + t0 + i + 1; };  // causal limit of token t0 + i

  const size_t q_row = row_size(dt, dk);
  for (int i = 0; i < nt; ++i)
    for (int hh = 0; hh < nh; ++hh)
      convert_row(dt, q + size_t(t0 + i) * q_stride + size_t(h0 + hh) * size_t(dk),
                  s.q_conv.data() + size_t(qi(i, hh)) * q_row, dk);

  // Scores: each tile of key rows is multiplied against every query of the item while it is in L1.
  uint8_t* tile_scratch = s.tile.empty() ? nullptr
                                         : reinterpret_cast<uint8_t*>(
                                               (reinterpret_cast<uintptr_t>(s.tile.data()) + 63) / 64 * 64);
  for (int j0 = 0; j0 < n_kv; j0 += kAttnKeyTile) {
    MatmulTile t;
    t.k = dk;
    t.w = c.k_row(il, j0, g);
    t.w_stride = c.k_pos_stride();
    t.n_rows = std::min(kAttnKeyTile, n_kv - j0);
    t.act = s.q_conv.data();
    t.act_stride = q_row;
    t.n_tok = nq;
    t.y = s.scores.data() + j0;
    t.ldy = ld;
    t.scratch = tile_scratch;
    run_tile(kk, t);
  }

  // Softmax of each query's causal prefix.
  for (int i = 0; i < nt; ++i) {
    for (int hh = 0; hh < nh; ++hh) {
      float* p = s.scores.data() + size_t(qi(i, hh)) * ld;
      ops.scale(p, len(i), scale);
      ops.softmax(p, len(i));
    }
  }

  if (c.v_transposed()) {
    // Probabilities rounded to the dot type, zero up to the item's longest row, then one V·p tile
    // per token (or per head): V's channel rows are read once for all queries of the tile.
    const size_t p_row = row_size(dt, s.n_ctx);
    const size_t esz = type_traits(dt).type_size;  // F16/F32: one element per block
    for (int i = 0; i < nt; ++i) {
      for (int hh = 0; hh < nh; ++hh) {
        uint8_t* pc = s.p_conv.data() + size_t(qi(i, hh)) * p_row;
        convert_row(dt, s.scores.data() + size_t(qi(i, hh)) * ld, pc, len(i));
        std::memset(pc + size_t(len(i)) * esz, 0, size_t(n_kv - len(i)) * esz);
      }
    }
    MatmulTile t;
    t.k = n_kv;
    t.w = c.v_channel(il, g * dv);
    t.w_stride = c.v_channel_stride();
    t.n_rows = dv;
    t.act_stride = p_row;
    t.scratch = tile_scratch;
    const int n_outer = token_major ? nt : nh;
    for (int o = 0; o < n_outer; ++o) {
      MatmulTile u = t;
      if (token_major) {  // one token's nh heads: outputs dv apart
        u.act = s.p_conv.data() + size_t(o * nh) * p_row;
        u.n_tok = nh;
        u.y = out + size_t(t0 + o) * out_stride + size_t(h0) * size_t(dv);
        u.ldy = size_t(dv);
      } else {  // one head's nt tokens: outputs a row apart
        u.act = s.p_conv.data() + size_t(o * nt) * p_row;
        u.n_tok = nt;
        u.y = out + size_t(t0) * out_stride + size_t(h0 + o) * size_t(dv);
        u.ldy = out_stride;
      }
      run_tile(kk, u);
    }
    return;
  }

  // Row layout (Q8_0): each tile of value rows is dequantized once and accumulated, scaled by p,
  // into every query's output.
  for (int i = 0; i < nt; ++i)
    for (int hh = 0; hh < nh; ++hh)
      std::fill_n(out + size_t(t0 + i) * out_stride + size_t(h0 + hh) * size_t(dv), dv, 0.0f);
  for (int j0 = 0; j0 < n_kv; j0 += kAttnKeyTile) {
    const int rows = std::min(kAttnKeyTile, n_kv - j0);
    for (int j = 0; j < rows; ++j) ct.to_float(c.v_row(il, j0 + j, g), s.v_row.data() + size_t(j) * dv, dv);
    for (int i = 0; i < nt; ++i) {
      const int lim = std::min(rows, len(i) - j0);
      if (lim <= 0) continue;
      for (int hh = 0; hh < nh; ++hh) {
        const float* p = s.scores.data() + size_t(qi(i, hh)) * ld + j0;
        float* o = out + size_t(t0 + i) * out_stride + size_t(h0 + hh) * size_t(dv);
        ops.accumulate_rows(o, p, s.v_row.data(), lim, dv);
      }
    }
  }
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
  softmax_reference(p, n_kv);

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
