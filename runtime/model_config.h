// ModelConfig: the hyperparameters of a llama-family model, read from GGUF metadata.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/ops.h"  // RopeType

namespace kq {

class GgufFile;

struct ModelConfig {
  std::string arch;  // general.architecture: "llama" or "qwen2"
  int n_vocab = 0;   // V
  int n_embd = 0;    // E, the residual stream width
  int n_layer = 0;
  int n_ff = 0;           // F, the feed-forward hidden width
  int n_head = 0;         // H, query heads
  int n_head_kv = 0;      // Hkv, key/value heads (GQA when < H)
  int head_dim = 0;       // Dk, per-head width of queries and keys
  int head_dim_v = 0;     // Dv, per-head width of values
  int n_rot = 0;          // Drot, leading dimensions of each head that RoPE rotates
  int n_ctx_train = 0;    // context length the model was trained with
  float rms_eps = 1e-5f;  // RMSNorm epsilon
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;  // 1 / rope.scaling.factor (linear scaling)
  RopeType rope_type = RopeType::kNorm;
  bool qkv_bias = false;  // qwen2 adds biases to the Q, K and V projections

  int n_embd_q() const { return n_head * head_dim; }       // H·Dk
  int n_embd_k() const { return n_head_kv * head_dim; }    // Hkv·Dk
  int n_embd_v() const { return n_head_kv * head_dim_v; }  // Hkv·Dv
  int n_embd_o() const { return n_head * head_dim_v; }     // H·Dv, the attention output width

  // Reads and checks the hyperparameters; an unknown architecture or an inconsistent value is a
  // kq::Error naming the key.
  static ModelConfig from_gguf(const GgufFile& file);
};

}  // namespace kq
