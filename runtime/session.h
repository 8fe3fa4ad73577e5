// Session: the mutable run state of one conversation with a Model (KV cache, activations, logits).
#pragma once

#include <cstdint>
#include <vector>

#include "quant/registry.h"
#include "runtime/attention.h"
#include "runtime/kv_cache.h"
#include "runtime/memory_plan.h"
#include "runtime/ops.h"
#include "runtime/tensor.h"

namespace kq {

class Model;

// Sees the input of every weight matmul (imatrix collection). Sessions have none unless one is set,
// and then cost nothing extra.
class MatmulObserver {
 public:
  virtual ~MatmulObserver() = default;
  // Called before y = W·x on the calling thread; x is [n_tokens][w.ne[0]] floats.
  virtual void observe(const TensorView& w, const float* x, int n_tokens) = 0;
};

// n_ctx (0 → min(n_ctx_train, 4096)), n_batch (tokens per forward pass; longer evals run in chunks
// of this size), n_threads (0 → physical cores), cache_type (F32, F16 or Q8_0).
using SessionOptions = PlanOptions;

class Session {
 public:
  // Allocates the KV cache and every scratch buffer up front; the Model must outlive the Session.
  explicit Session(const Model& model, SessionOptions options = {});

  // Appends tokens at n_past and runs them through the model in chunks of n_batch (prefill and
  // decode share this path). all_logits keeps one logits row per token of this call, otherwise
  // only the last token's. Too many tokens for the context or an id out of range is a kq::Error
  // and leaves the session unchanged.
  void eval(const std::vector<int32_t>& tokens, bool all_logits = false);

  // Logits row i ([n_vocab]) of the last eval (all_logits), or the last token's when i = -1.
  const float* logits(int i = -1) const;
  int n_logits() const { return n_logits_; }  // rows logits(i) can return

  int n_past() const { return n_past_; }
  // Forgets every position from n_past on (0 restarts the conversation); the cache is reused.
  void truncate(int n_past);
  int n_ctx() const { return n_ctx_; }
  int n_vocab() const;
  int n_threads() const { return n_threads_; }
  int n_batch() const { return n_batch_; }
  const Model& model() const { return model_; }
  const KvCache& kv_cache() const { return cache_; }
  // Shows every later matmul's input to `observer` (null: none); it must outlive its use.
  void set_matmul_observer(MatmulObserver* observer) { observer_ = observer; }
  // The buffer sizes this session was allocated from, and the bytes its buffers hold now (equal
  // to buffers().total_bytes() until an all_logits eval grows the logits).
  const SessionBuffers& buffers() const { return buffers_; }
  size_t allocated_bytes() const;

 private:
  // Runs n tokens at positions pos0.. through every layer; writes logits for tokens [out_from, n)
  // into out ([n - out_from][n_vocab]) unless out_from == n.
  void forward(const int32_t* tokens, int n, int pos0, int out_from, float* out);
  // forward for a few tokens (decode) with n_threads > 1: one parallel region over the whole step,
  // about 8 barriers per layer instead of a region per op; the same logits bit for bit.
  void forward_decode(const int32_t* tokens, int n, int pos0, int out_from, float* out);

  const Model& model_;
  SessionBuffers buffers_;  // every size below comes from here (see runtime/memory_plan.h)
  int n_ctx_, n_batch_, n_threads_;
  int n_past_ = 0;
  int n_logits_ = 0;
  MatmulObserver* observer_ = nullptr;
  RopeParams rope_;
  KvCache cache_;

  // Activations of one batch of up to n_batch tokens (row-major, one row per token).
  std::vector<float> x_;                        // [n_batch][E] residual stream
  std::vector<float> xb_;                       // [n_batch][E] normalized input of a block
  std::vector<float> xo_;                       // [n_batch][E] output of a block before the residual add
  std::vector<float> q_;                        // [n_batch][H·Dk] queries
  std::vector<float> k_;                        // [n_batch][Hkv·Dk] keys
  std::vector<float> v_;                        // [n_batch][Hkv·Dv] values
  std::vector<float> att_;                      // [n_batch][H·Dv] attention output, input of wo
  std::vector<float> hb_;                       // [n_batch][F] gate, then silu(gate)·up
  std::vector<float> hb2_;                      // [n_batch][F] up
  std::vector<float> rope_cs_;                  // [n_batch][Drot] cos, sin per rotary pair per token
  std::vector<uint8_t> mm_scratch_;             // activations converted for matmul (largest weight × n_batch)
  std::vector<AttentionScratch> attn_scratch_;  // [n_threads]
  std::vector<float> logits_;                   // [n_logits][V]
};

// Returns the number of physical CPU cores (logical CPUs when the topology cannot be read).
int physical_cores();

}  // namespace kq
