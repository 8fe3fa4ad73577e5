// KV cache storage: conversion of new keys/values to the cache type and the two V layouts.
#include "runtime/kv_cache.h"

#include <cstring>
#include <string>

#include "common/error.h"
#include "runtime/matmul.h"

namespace kq {

KvCacheBytes KvCache::planned_bytes(int n_layer, int n_ctx, int n_head_kv, int head_dim_k, int head_dim_v,
                                    QType type) {
  if (type != QType::F32 && type != QType::F16 && type != QType::Q8_0)
    throw Error(std::string("KV cache type ") + type_name(type) + " is not supported (f32, f16 or q8_0)");
  const int64_t block = type_traits(type).block_size;
  if (head_dim_k % block != 0 || head_dim_v % block != 0)
    throw Error(std::string("KV cache type ") + type_name(type) + " needs head widths that are multiples of " +
                std::to_string(block) + " (this model has " + std::to_string(head_dim_k) + ")");
  const size_t cells = size_t(n_layer) * size_t(n_ctx) * size_t(n_head_kv);
  return {cells * row_size(type, head_dim_k), cells * row_size(type, head_dim_v)};
}

KvCache::KvCache(int n_layer, int n_ctx, int n_head_kv, int head_dim_k, int head_dim_v, QType type)
    : type_(type),
      n_ctx_(n_ctx),
      n_head_kv_(n_head_kv),
      head_dim_k_(head_dim_k),
      head_dim_v_(head_dim_v),
      n_embd_v_(n_head_kv * head_dim_v) {
  const KvCacheBytes bytes = planned_bytes(n_layer, n_ctx, n_head_kv, head_dim_k, head_dim_v, type);
  k_row_bytes_ = row_size(type, head_dim_k);
  v_row_bytes_ = row_size(type, head_dim_v);
  elem_bytes_ = v_transposed() ? type_traits(type).type_size : 0;
  k_.assign(bytes.k, 0);
  v_.assign(bytes.v, 0);
}

void KvCache::store(int il, int pos, int n, const float* k, const float* v) {
  const size_t n_k = size_t(n_head_kv_) * size_t(head_dim_k_), n_v = size_t(n_embd_v_);
  // A token's heads are consecutive cells, so its keys (and row-layout values) are one row of
  // Hkv·D elements; Q8_0 blocks never straddle heads since D is a multiple of 32.
  for (int t = 0; t < n; ++t) {
    quantize_activations(type_, k + size_t(t) * n_k, k_.data() + cell(il, pos + t, 0) * k_row_bytes_,
                         int64_t(n_k));
    if (!v_transposed())
      quantize_activations(type_, v + size_t(t) * n_v, v_.data() + cell(il, pos + t, 0) * v_row_bytes_,
                           int64_t(n_v));
  }
  if (!v_transposed()) return;
  // Transposed: convert each token's values in chunks, then scatter them to (channel, position).
  constexpr int kChunk = 256;
  alignas(64) uint8_t buf[kChunk * sizeof(float)];
  for (int t = 0; t < n; ++t) {
    for (int c0 = 0; c0 < n_embd_v_; c0 += kChunk) {
      const int m = n_embd_v_ - c0 < kChunk ? n_embd_v_ - c0 : kChunk;
      quantize_activations(type_, v + size_t(t) * n_v + size_t(c0), buf, m);
      uint8_t* dst = v_.data() + (channel(il, c0) + size_t(pos + t)) * elem_bytes_;
      const size_t stride = size_t(n_ctx_) * elem_bytes_;
      if (elem_bytes_ == 2) {
        for (int c = 0; c < m; ++c) std::memcpy(dst + size_t(c) * stride, buf + size_t(c) * 2, 2);
      } else {
        for (int c = 0; c < m; ++c) std::memcpy(dst + size_t(c) * stride, buf + size_t(c) * 4, 4);
      }
    }
  }
}

}  // namespace kq
