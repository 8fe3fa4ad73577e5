// The one matmul entry point: activation conversion, then registry vec_dot over row chunks in parallel.
#include "runtime/matmul.h"

#include <cmath>

#include "common/error.h"
#include "common/fp16.h"
#include "quant/q8_0.h"
#include "quant/q8_1.h"
#include "quant/registry.h"

namespace kq {
namespace {

// Quantizes one 32-element block the way ggml's AVX2/AVX-512 quantize_row_q8_0/q8_1 do:
// d = amax/127, q = nearest-even(x · 127/amax). Returns d in f32 and Σq (Q8_1's s = d·Σq).
float quantize_block_x86(const float* x, int8_t* qs, int& sum) {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[j]));
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  sum = 0;
  for (int j = 0; j < 32; ++j) {
    qs[j] = int8_t(std::nearbyint(x[j] * id));  // default rounding mode: nearest, ties to even
    sum += qs[j];
  }
  return amax / 127.0f;
}

// Rows per work item: small enough to balance threads, large enough that one chunk of weight rows
// stays in cache while every token of the batch is multiplied with it.
constexpr int64_t kRowChunk = 16;
}  // namespace

void quantize_activations(QType type, const float* x, void* dst, int64_t n) {
  if (type == QType::Q8_0) {
    BlockQ8_0* y = static_cast<BlockQ8_0*>(dst);
    for (int64_t b = 0; b < n / 32; ++b) {
      int sum;
      y[b].d = fp32_to_fp16(quantize_block_x86(x + 32 * b, y[b].qs, sum));
    }
  } else if (type == QType::Q8_1) {
    BlockQ8_1* y = static_cast<BlockQ8_1*>(dst);
    for (int64_t b = 0; b < n / 32; ++b) {
      int sum;
      const float d = quantize_block_x86(x + 32 * b, y[b].qs, sum);
      y[b].d = fp32_to_fp16(d);
      y[b].s = fp32_to_fp16(d * float(sum));
    }
  } else {
    type_traits(type).from_float(x, dst, n, nullptr);
  }
}

size_t matmul_scratch_bytes(const TensorView& w, int n_tokens) {
  const QType act = type_traits(w.type).vec_dot_type;
  if (act == QType::F32) return 0;  // F32 weights read the activations in place
  return row_size(act, w.ne[0]) * size_t(n_tokens);
}

void matmul(const TensorView& w, const float* x, int n_tokens, float* y, uint8_t* scratch, int n_threads) {
  const TypeTraits& wt = type_traits(w.type);
  const TypeTraits& at = type_traits(wt.vec_dot_type);
  if (!wt.vec_dot) throw Error(std::string("matmul: no dot product for weight type ") + wt.name);
  const int64_t k = w.ne[0];
  const int64_t n_rows = w.n_rows();
  const bool in_place = at.type == QType::F32;
  const size_t act_row = in_place ? size_t(k) * sizeof(float) : row_size(at.type, k);
  const uint8_t* act = in_place ? reinterpret_cast<const uint8_t*>(x) : scratch;
  const int64_t n_chunks = (n_rows + kRowChunk - 1) / kRowChunk;
  const bool parallel = n_threads > 1 && n_rows * n_tokens * k >= 4096;

#pragma omp parallel num_threads(n_threads) if (parallel)
  {
    // Convert each activation row once for the whole matmul, not once per weight row.
    if (!in_place) {
#pragma omp for schedule(static)
      for (int t = 0; t < n_tokens; ++t)
        quantize_activations(at.type, x + size_t(t) * size_t(k), scratch + size_t(t) * act_row, k);
    }
#pragma omp for schedule(static)
    for (int64_t c = 0; c < n_chunks; ++c) {
      const int64_t r0 = c * kRowChunk;
      const int64_t r1 = r0 + kRowChunk < n_rows ? r0 + kRowChunk : n_rows;
      for (int t = 0; t < n_tokens; ++t) {
        const uint8_t* a = act + size_t(t) * act_row;
        float* yt = y + size_t(t) * size_t(n_rows);
        for (int64_t r = r0; r < r1; ++r) yt[r] = wt.vec_dot(k, w.row(r), a);
      }
    }
  }
}

}  // namespace kq
