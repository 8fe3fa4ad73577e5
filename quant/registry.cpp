// The registry table: the only place that lists every block type and its functions.
#include "quant/registry.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "common/error.h"
#include "quant/float_types.h"
#include "quant/iq4_nl.h"
#include "quant/iq4_xs.h"
#include "quant/q2_k.h"
#include "quant/q3_k.h"
#include "quant/q4_0.h"
#include "quant/q4_1.h"
#include "quant/q4_k.h"
#include "quant/q5_0.h"
#include "quant/q5_1.h"
#include "quant/q5_k.h"
#include "quant/q6_k.h"
#include "quant/q8_0.h"
#include "quant/q8_0h.h"
#include "quant/q8_1.h"
#include "quant/q8_k.h"
#include "quant/refine.h"

namespace kq {

// clang-format off
const TypeTraits kTypeTraits[] = {
  // type         name      block size  quant  act-only vec_dot_type  to_float              from_float          vec_dot          from_float_refined
  {QType::F32,    "F32",    1,   4,   false, false, QType::F32,  dequantize_row_f32,    quantize_row_f32,    dot_f32_f32,  nullptr},
  {QType::F16,    "F16",    1,   2,   false, false, QType::F32,  dequantize_row_f16,    quantize_row_f16,    dot_f16_f32,  nullptr},
  {QType::Q4_0,   "Q4_0",   32,  18,  true,  false, QType::Q8_0, dequantize_row_q4_0,   quantize_row_q4_0,   dot_q4_0_q8_0, quantize_row_q4_0_refined},
  {QType::Q4_1,   "Q4_1",   32,  20,  true,  false, QType::Q8_1, dequantize_row_q4_1,   quantize_row_q4_1,   dot_q4_1_q8_1, quantize_row_q4_1_refined},
  {QType::Q5_0,   "Q5_0",   32,  22,  true,  false, QType::Q8_0, dequantize_row_q5_0,   quantize_row_q5_0,   dot_q5_0_q8_0, quantize_row_q5_0_refined},
  {QType::Q5_1,   "Q5_1",   32,  24,  true,  false, QType::Q8_1, dequantize_row_q5_1,   quantize_row_q5_1,   dot_q5_1_q8_1, quantize_row_q5_1_refined},
  {QType::Q8_0,   "Q8_0",   32,  34,  true,  false, QType::Q8_0H, dequantize_row_q8_0,  quantize_row_q8_0,   dot_q8_0_q8_0h, quantize_row_q8_0_refined},
  {QType::Q8_1,   "Q8_1",   32,  36,  true,  true,  QType::Q8_1, dequantize_row_q8_1,   quantize_row_q8_1,   nullptr,       nullptr},
  {QType::Q2_K,   "Q2_K",   256, 84,  true,  false, QType::Q8_K, dequantize_row_q2_k,   quantize_row_q2_k,   dot_q2_k_q8_k, quantize_row_q2_k_refined},
  {QType::Q3_K,   "Q3_K",   256, 110, true,  false, QType::Q8_K, dequantize_row_q3_k,   quantize_row_q3_k,   dot_q3_k_q8_k, quantize_row_q3_k_refined},
  {QType::Q4_K,   "Q4_K",   256, 144, true,  false, QType::Q8_K, dequantize_row_q4_k,   quantize_row_q4_k,   dot_q4_k_q8_k, quantize_row_q4_k_refined},
  {QType::Q5_K,   "Q5_K",   256, 176, true,  false, QType::Q8_K, dequantize_row_q5_k,   quantize_row_q5_k,   dot_q5_k_q8_k, quantize_row_q5_k_refined},
  {QType::Q6_K,   "Q6_K",   256, 210, true,  false, QType::Q8_K, dequantize_row_q6_k,   quantize_row_q6_k,   dot_q6_k_q8_k, quantize_row_q6_k_refined},
  {QType::Q8_K,   "Q8_K",   256, 292, true,  true,  QType::Q8_K, dequantize_row_q8_k,   quantize_row_q8_k,   nullptr,       nullptr},
  {QType::IQ4_NL, "IQ4_NL", 32,  18,  true,  false, QType::Q8_0, dequantize_row_iq4_nl, quantize_row_iq4_nl, dot_iq4_nl_q8_0, quantize_row_iq4_nl_refined},
  {QType::IQ4_XS, "IQ4_XS", 256, 136, true,  false, QType::Q8_K, dequantize_row_iq4_xs, quantize_row_iq4_xs, dot_iq4_xs_q8_k, quantize_row_iq4_xs_refined},
  {QType::BF16,   "BF16",   1,   2,   false, false, QType::F32,  dequantize_row_bf16,   quantize_row_bf16,   dot_bf16_f32, nullptr},
  {QType::Q8_0H,  "Q8_0H",  32,  36,  true,  true,  QType::Q8_0H, dequantize_row_q8_0h, quantize_row_q8_0h,  nullptr,      nullptr},
};
// clang-format on
const size_t kTypeCount = sizeof(kTypeTraits) / sizeof(kTypeTraits[0]);
static_assert(sizeof(kTypeTraits) / sizeof(kTypeTraits[0]) == 18, "one registry row per QType");

namespace {
// Maps a ggml id to its row index; -1 when not implemented. Built once from the table.
struct IdIndex {
  int index[64];
  IdIndex() {
    std::fill(std::begin(index), std::end(index), -1);
    for (size_t i = 0; i < kTypeCount; ++i) index[static_cast<uint32_t>(kTypeTraits[i].type)] = int(i);
  }
};
const IdIndex& id_index() {
  static const IdIndex idx;
  return idx;
}

const TypeTraits* find_row(uint32_t id) {
  if (id >= 64) return nullptr;
  const int i = id_index().index[id];
  return i < 0 ? nullptr : &kTypeTraits[i];
}
}  // namespace

const TypeTraits* find_type(uint32_t ggml_id) { return ggml_id >= kFirstInternalTypeId ? nullptr : find_row(ggml_id); }

const TypeTraits& type_traits(QType t) {
  const TypeTraits* row = find_row(static_cast<uint32_t>(t));
  if (!row) throw Error("unknown block type id " + std::to_string(static_cast<uint32_t>(t)));
  return *row;
}

const TypeTraits* find_type(std::string_view name) {
  for (size_t i = 0; i < kTypeCount; ++i) {
    if (static_cast<uint32_t>(kTypeTraits[i].type) >= kFirstInternalTypeId) continue;
    const std::string_view n = kTypeTraits[i].name;
    if (n.size() == name.size() &&
        std::equal(n.begin(), n.end(), name.begin(),
                   [](char a, char b) { return std::toupper((unsigned char)a) == std::toupper((unsigned char)b); }))
      return &kTypeTraits[i];
  }
  return nullptr;
}

size_t row_size(QType t, int64_t n) {
  const TypeTraits& tt = type_traits(t);
  if (n < 0 || n % tt.block_size != 0)
    throw Error(std::string("row of ") + std::to_string(n) + " elements is not a whole number of " + tt.name +
                " blocks of " + std::to_string(tt.block_size));
  return size_t(n / tt.block_size) * tt.type_size;
}

}  // namespace kq
