// Memory plan: the bytes a model costs to run (weights, KV cache, scratch, logits, tokenizer,
// fixed overhead), computed from a GGUF header alone. Session allocates its buffers from the same
// SessionBuffers, so the plan is the allocation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "quant/registry.h"
#include "runtime/attention.h"
#include "runtime/model_config.h"
#include "runtime/tensor.h"

namespace kq {

class GgufFile;

// One tensor as the planner sees it. A caller planning a hypothetical quantization (kq quantize
// --fit) sets type and both byte counts per tensor; load-time repacking sets resident_bytes.
struct PlanTensor {
  std::string name;
  QType type = QType::F32;
  std::array<int64_t, 4> ne{1, 1, 1, 1};  // ggml order
  uint64_t file_bytes = 0;                // bytes in the GGUF data section
  uint64_t resident_bytes = 0;            // bytes in memory while running (= file_bytes unless repacked)
};

// What the planner needs from a model file: hyperparameters, the tensor list and the sizes of the
// tables the tokenizer builds. Nothing here reads tensor data.
struct ModelHeader {
  ModelConfig config;
  std::vector<PlanTensor> tensors;
  uint64_t file_header_bytes = 0;  // metadata + tensor infos + alignment padding (mapped and read at load)
  // Tokenizer vocabulary (tokenizer.ggml.tokens) and BPE merges (tokenizer.ggml.merges), as text.
  std::vector<uint32_t> token_lengths;  // [n_vocab] bytes of each token's text
  std::vector<uint32_t> merge_lengths;  // [n_merges] bytes of each merge line ("a b")

  // Reads the header of an opened GGUF file (tensor infos and metadata only).
  static ModelHeader from_gguf(const GgufFile& file);
};

struct PlanOptions {
  int n_ctx = 0;                  // 0 → min(n_ctx_train, 4096), as Session
  int n_batch = 512;              // clamped to [1, n_ctx], as Session
  int n_threads = 0;              // 0 → physical cores
  QType cache_type = QType::F16;  // F32, F16 or Q8_0
};

// Every buffer a Session allocates, as element counts; Session resizes its vectors to exactly these.
struct SessionBuffers {
  int n_ctx = 0, n_batch = 0, n_threads = 0;
  QType cache_type = QType::F16;
  // Activations of one batch (floats): residual, normed input, block output, q, k, v, attention
  // output, FFN gate and up, RoPE cos/sin.
  size_t x = 0, xb = 0, xo = 0, q = 0, k = 0, v = 0, att = 0, hb = 0, hb2 = 0, rope_cs = 0;
  size_t mm_scratch = 0;      // bytes: the largest matmul's converted activations and tiles
  AttentionScratchSizes attn;  // per thread
  size_t logits = 0;          // floats: one row of n_vocab (what decode keeps)
  size_t kv_k = 0, kv_v = 0;  // bytes of the key and value caches

  size_t activation_bytes() const;
  size_t attention_bytes() const { return attn.bytes() * size_t(n_threads); }
  size_t kv_bytes() const { return kv_k + kv_v; }
  // Everything above: what Session::allocated_bytes() reports right after construction.
  size_t total_bytes() const;
};

// Sizes the buffers of a session over the given matmul weights (each layer's q/k/v/o/gate/up/down
// and the output projection; only type and shape are read).
SessionBuffers plan_session_buffers(const ModelConfig& config, const std::vector<TensorView>& matmul_weights,
                                    const PlanOptions& options);

// Linux maps up to this many bytes of cached file pages around each page fault (fault_around_bytes).
constexpr uint64_t kFaultAroundBytes = 64 * 1024;

// The fixed cost of the kq process itself (code and libraries paged in, runtime heap, thread stacks):
// the peak RSS of `kq run -m stories260K.gguf -n 64` (whose other components are a few MiB) minus
// its planned components: 5.4-5.8 MiB over -t 1..8 when first measured, 5.0-5.5 MiB over repeated
// -t 2 runs of the final binary (run-to-run noise ~0.4 MiB), so the midpoint, 5.3 MiB; then 3.0 MiB
// more once kq linked libdnnl (its relocations and static initializers at load: stories260K with
// -b 16, which never calls oneDNN, went from 7.7 to 10.8 MiB).
constexpr uint64_t kFixedOverheadBytes = uint64_t(5427 + 3072) << 10;

// What oneDNN's first use costs beyond the planned scratch (its start-up, the code pages of its
// matmul): added when some weight's prefill goes through oneDNN at the session's batch size.
// Measured as stories260K's peak RSS at -b 32 minus -b 31: 1.0 MiB at -t 1, 1.3 MiB at -t 2.
// Not counted: each cached primitive's JIT code (tens of KiB per distinct matmul shape) and the
// packing buffers gemm:jit (oneDNN's AVX2 sgemm) allocates while a call runs.
constexpr uint64_t kOnednnOverheadBytes = uint64_t(1200) << 10;

// Bytes of one transformer layer, for placing whole layers on a device.
struct LayerPlan {
  uint64_t weight_bytes = 0;
  uint64_t kv_bytes = 0;
};

struct MemoryPlan {
  int n_ctx = 0, n_batch = 0, n_threads = 0;
  QType cache_type = QType::F16;
  uint64_t weights = 0;         // resident bytes of every tensor but an untied token_embd
  uint64_t embedding_table = 0; // bytes of an untied token_embd (0 when the output is tied to it)
  uint64_t embeddings = 0;      // its pages the run's token lookups map (see embedding_pages)
  uint64_t file_header = 0;     // the mapped GGUF header (metadata is read at load)
  uint64_t kv_cache = 0;
  uint64_t scratch = 0;         // activations, matmul and attention scratch
  uint64_t output = 0;          // logits row and the sampler's candidate arrays
  uint64_t tokenizer = 0;       // metadata strings kept by the reader plus the tokenizer's tables
  uint64_t overhead = 0;        // kFixedOverheadBytes (+ kOnednnOverheadBytes when prefill uses oneDNN)
  uint64_t total = 0;           // the sum of the above
  uint64_t decode_bytes = 0;    // bytes one decode step reads at an empty cache (matmul weights, one embedding row)
  std::vector<LayerPlan> layers;  // [n_layer]
  SessionBuffers buffers;
};

// Plans a session of the model described by `header` that processes n_tokens tokens (prompt and
// generated; 0 → a full context). Only an untied embedding table depends on n_tokens: its rows are
// paged in as tokens use them, while every other weight is read by every token.
MemoryPlan plan_memory(const ModelHeader& header, const PlanOptions& options, int n_tokens = 0);

// Largest context length (≤ max_ctx) whose plan total fits in `budget` bytes; 0 when none does.
int largest_fitting_context(const ModelHeader& header, PlanOptions options, uint64_t budget, int max_ctx);

// The matmul weights of a header's tensor list, in the order Session's weights are, as views with
// no data (type and shape only). Throws kq::Error when a layer's tensor is missing.
std::vector<TensorView> header_matmul_weights(const ModelHeader& header);

// The library's estimate of the tokenizer's memory: every token and merge kept as a string twice
// (GGUF metadata value, tokenizer table), plus hash tables. Exposed for tests.
uint64_t tokenizer_bytes(const std::vector<uint32_t>& token_lengths, const std::vector<uint32_t>& merge_lengths);

}  // namespace kq
