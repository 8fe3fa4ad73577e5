// TensorView: a non-owning view of one tensor (block type, shape, row stride, bytes in the mmap).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "quant/registry.h"

namespace kq {

struct TensorView {
  QType type = QType::F32;
  std::array<int64_t, 4> ne{0, 1, 1, 1};  // ggml order: ne[0] is the row length (elements)
  size_t row_bytes = 0;                   // bytes of one row of ne[0] elements (ggml's nb[1])
  const uint8_t* data = nullptr;          // [n_rows() * row_bytes] bytes; null = tensor absent
  const uint8_t* repacked = nullptr;      // the same rows in quant/repack.h's interleaved layout
                                          // (owned by the Model; null: not repacked, use data)

  bool present() const { return data != nullptr; }
  int64_t n_cols() const { return ne[0]; }
  int64_t n_rows() const { return ne[1] * ne[2] * ne[3]; }
  const void* row(int64_t r) const { return data + size_t(r) * row_bytes; }
  // Plain float data (valid only for F32 tensors such as norms and biases).
  const float* f32() const { return reinterpret_cast<const float*>(data); }
};

}  // namespace kq
