// The block-type registry: one TypeTraits row per ggml type kq implements, indexed by QType.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kq {

// ggml type ids, as stored in GGUF tensor infos.
enum class QType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ4_NL = 20,
  IQ4_XS = 23,
  BF16 = 30,
  // kq-internal activation types: ids no ggml type uses, never read from or written to a file.
  Q8_0H = 63,  // Q8_0 with one scale per 16 elements: the activations of Q8_0 weights
};

// Ids at or above this are kq-internal (find_type(uint32_t) does not return them).
constexpr uint32_t kFirstInternalTypeId = 63;

// Converts n values (n a multiple of the block size) of one row to float32.
using DequantizeRowFn = void (*)(const void* src, float* dst, int64_t n);
// Quantizes one row of n values; importance is null or n per-column weights (imatrix).
using QuantizeRowFn = void (*)(const float* src, void* dst, int64_t n, const float* importance);
// Dot product of a weight row x (this type) with an activation row y (the vec_dot type).
using VecDotFn = float (*)(int64_t n, const void* x, const void* y);

struct TypeTraits {
  QType type;
  const char* name;         // ggml's name, e.g. "Q4_K"
  int64_t block_size;       // elements per block
  size_t type_size;         // bytes per block
  bool is_quantized;        // false for F32 / F16 / BF16
  bool activation_only;     // Q8_1, Q8_K, Q8_0H: never stored as weights
  QType vec_dot_type;       // what activations are converted to for vec_dot
  DequantizeRowFn to_float;
  QuantizeRowFn from_float;  // scalar reference quantizer: exactly llama.cpp's bytes
  VecDotFn vec_dot;          // scalar reference dot product
  QuantizeRowFn from_float_refined;  // same format, lower error (quant/refine.h); null: from_float
};

// Returns the quantizer `kq quantize` uses by default: the refined one where the type has it.
inline QuantizeRowFn best_quantizer(const TypeTraits& t) {
  return t.from_float_refined ? t.from_float_refined : t.from_float;
}

// Every implemented type, in QType order.
extern const TypeTraits kTypeTraits[];
extern const size_t kTypeCount;

// Returns the row for t (every QType value has one).
const TypeTraits& type_traits(QType t);
// Returns the row for a raw ggml id (as read from a file), or nullptr when kq does not implement
// it or the id is a kq-internal type's.
const TypeTraits* find_type(uint32_t ggml_id);
// Returns the row for a (case-insensitive) ggml type name, or nullptr (also for internal types).
const TypeTraits* find_type(std::string_view name);
inline const char* type_name(QType t) { return type_traits(t).name; }

// Bytes of one row of n elements; throws kq::Error when n is not a whole number of blocks.
size_t row_size(QType t, int64_t n);

}  // namespace kq
