// KvCache: per-layer keys and values of every past position, stored as F32, F16 or Q8_0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "quant/registry.h"

namespace kq {

struct KvCacheBytes {
  size_t k = 0, v = 0;  // bytes of the key and the value storage
};

class KvCache {
 public:
  // The bytes a cache of these dimensions allocates; an unsupported type or head width is a kq::Error.
  static KvCacheBytes planned_bytes(int n_layer, int n_ctx, int n_head_kv, int head_dim_k, int head_dim_v,
                                    QType type);

  // type is F32, F16 or Q8_0 (Q8_0 needs head widths that are multiples of 32); else kq::Error.
  KvCache(int n_layer, int n_ctx, int n_head_kv, int head_dim_k, int head_dim_v, QType type);

  QType type() const { return type_; }
  int n_ctx() const { return n_ctx_; }
  // True when values are stored transposed (one row per channel over positions), which is how
  // llama.cpp stores F32/F16 V without flash attention, so V·P is one dot per channel.
  bool v_transposed() const { return type_ != QType::Q8_0; }
  size_t bytes() const { return k_.size() + v_.size(); }

  // Stores one token's keys k ([Hkv·Dk]) and values v ([Hkv·Dv]) at position pos of layer il,
  // rounding them to the cache type as ggml's copy into the cache does.
  void store(int il, int pos, const float* k, const float* v) { store(il, pos, 1, k, v); }
  // Stores n consecutive tokens (k: [n][Hkv·Dk], v: [n][Hkv·Dv]) at positions pos..pos+n-1.
  // Threads may store disjoint position ranges of a layer at once.
  void store(int il, int pos, int n, const float* k, const float* v);

  // Key row of (layer, position, kv head): Dk elements of type().
  const uint8_t* k_row(int il, int pos, int head) const { return k_.data() + cell(il, pos, head) * k_row_bytes_; }
  // Transposed layout: channel c (= head·Dv + d) of layer il over positions 0..n_ctx-1.
  const uint8_t* v_channel(int il, int c) const { return v_.data() + channel(il, c) * elem_bytes_; }
  // Row layout (Q8_0): value row of (layer, position, kv head), Dv elements.
  const uint8_t* v_row(int il, int pos, int head) const { return v_.data() + cell(il, pos, head) * v_row_bytes_; }
  // Bytes from a key row (or a row-layout value row) to the same head's row at the next position,
  // and from one transposed value channel to the next.
  size_t k_pos_stride() const { return size_t(n_head_kv_) * k_row_bytes_; }
  size_t v_pos_stride() const { return size_t(n_head_kv_) * v_row_bytes_; }
  size_t v_channel_stride() const { return size_t(n_ctx_) * elem_bytes_; }

 private:
  // Index of the (layer, position, kv head) row, and of the first element of a transposed channel.
  size_t cell(int il, int pos, int head) const {
    return (size_t(il) * size_t(n_ctx_) + size_t(pos)) * size_t(n_head_kv_) + size_t(head);
  }
  size_t channel(int il, int c) const { return (size_t(il) * size_t(n_embd_v_) + size_t(c)) * size_t(n_ctx_); }

  QType type_;
  int n_ctx_, n_head_kv_, head_dim_k_, head_dim_v_, n_embd_v_;
  size_t k_row_bytes_;      // bytes of Dk elements of type_
  size_t v_row_bytes_;      // bytes of Dv elements of type_
  size_t elem_bytes_;       // bytes of one element (F32/F16 only; 0 for Q8_0)
  std::vector<uint8_t> k_;  // [n_layer][n_ctx][Hkv] rows of Dk elements
  std::vector<uint8_t> v_;  // F32/F16: [n_layer][Hkv·Dv][n_ctx] elements; Q8_0: [n_layer][n_ctx][Hkv] rows of Dv
};

}  // namespace kq
