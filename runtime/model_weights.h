// ModelWeights: views of a llama-family model's tensors in the mmap, bound and checked from one list.
#pragma once

#include <vector>

#include "runtime/tensor.h"

namespace kq {

class GgufFile;
struct ModelConfig;

// One transformer block. E = n_embd, F = n_ff, H/Hkv = heads, Dk/Dv = head widths (ggml dim order).
struct LayerWeights {
  TensorView attn_norm;  // [E] F32
  TensorView wq;         // [E, H·Dk]   rows permuted for NORM RoPE (formats.md A.10)
  TensorView wk;         // [E, Hkv·Dk]
  TensorView wv;         // [E, Hkv·Dv]
  TensorView wo;         // [H·Dv, E]
  TensorView bq;         // [H·Dk] F32, qwen2 (optional for llama)
  TensorView bk;         // [Hkv·Dk] F32
  TensorView bv;         // [Hkv·Dv] F32
  TensorView bo;         // [E] F32, optional
  TensorView ffn_norm;   // [E] F32
  TensorView w_gate;     // [E, F]
  TensorView w_up;       // [E, F]
  TensorView w_down;     // [F, E]
};

struct ModelWeights {
  TensorView token_embd;             // [E, V]
  TensorView output_norm;            // [E] F32
  TensorView output;                 // [E, V]; the same view as token_embd when the file ties them
  TensorView rope_freqs;             // [Drot/2] F32, optional Llama-3 per-pair divisors of the RoPE angle
  std::vector<LayerWeights> layers;  // [n_layer]
  bool tied_output = false;          // true when output.weight is absent

  // Binds every tensor of the architecture's list; a missing, mis-shaped or unusable tensor is a
  // kq::Error naming it with the expected and found shapes. Nothing is copied.
  static ModelWeights bind(const GgufFile& file, const ModelConfig& config);
};

}  // namespace kq
