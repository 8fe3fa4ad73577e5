// KV cache storage: conversion of new keys/values to the cache type and the two V layouts.
#include "runtime/kv_cache.h"

#include <string>

#include "common/error.h"
#include "runtime/matmul.h"

namespace kq {

KvCache::KvCache(int n_layer, int n_ctx, int n_head_kv, int head_dim_k, int head_dim_v, QType type)
    : type_(type),
      n_ctx_(n_ctx),
      n_head_kv_(n_head_kv),
      head_dim_k_(head_dim_k),
      head_dim_v_(head_dim_v),
      n_embd_v_(n_head_kv * head_dim_v) {
  if (type != QType::F32 && type != QType::F16 && type != QType::Q8_0)
    throw Error(std::string("KV cache type ") + type_name(type) + " is not supported (f32, f16 or q8_0)");
  const int64_t block = type_traits(type).block_size;
  if (head_dim_k % block != 0 || head_dim_v % block != 0)
    throw Error(std::string("KV cache type ") + type_name(type) + " needs head widths that are multiples of " +
                std::to_string(block) + " (this model has " + std::to_string(head_dim_k) + ")");
  k_row_bytes_ = row_size(type, head_dim_k);
  v_row_bytes_ = row_size(type, head_dim_v);
  elem_bytes_ = v_transposed() ? type_traits(type).type_size : 0;
  const size_t cells = size_t(n_layer) * size_t(n_ctx) * size_t(n_head_kv);
  k_.assign(cells * k_row_bytes_, 0);
  v_.assign(cells * v_row_bytes_, 0);
}

void KvCache::store(int il, int pos, const float* k, const float* v) {
  for (int h = 0; h < n_head_kv_; ++h)
    quantize_activations(type_, k + size_t(h) * head_dim_k_, k_.data() + cell(il, pos, h) * k_row_bytes_, head_dim_k_);
  if (!v_transposed()) {
    for (int h = 0; h < n_head_kv_; ++h)
      quantize_activations(type_, v + size_t(h) * head_dim_v_, v_.data() + cell(il, pos, h) * v_row_bytes_,
                           head_dim_v_);
    return;
  }
  // Transposed: element (channel c, position pos), converted one at a time (a strided write).
  for (int c = 0; c < n_embd_v_; ++c)
    quantize_activations(type_, v + c, v_.data() + (channel(il, c) + size_t(pos)) * elem_bytes_, 1);
}

}  // namespace kq
