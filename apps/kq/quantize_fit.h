// `kq quantize --fit SIZE`: the per-tensor types that fit a memory budget with the least predicted
// quality loss (quant/budget_mix does the measuring and the knapsack; this is the model-facing part).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "quant/mix.h"

namespace kq::app {

struct FitOptions {
  uint64_t budget = 0;  // bytes: weights + metadata + KV cache + scratch + runtime
  int n_ctx = 0;        // tokens of KV cache planned for; 0 → min(training context, 4096), as kq run
  int threads = 1;
};

// What a model needs beside its tensors when run with n_ctx tokens.
struct NonWeightBytes {
  uint64_t metadata = 0;  // the GGUF header (tokenizer tables live there), mapped with the file
  uint64_t kv_cache = 0;  // F16 keys and values of n_ctx positions in every layer
  uint64_t scratch = 0;   // activations, matmul and attention scratch
  uint64_t runtime = 0;   // logits and sampler, tokenizer tables, fixed process overhead
  uint64_t total() const { return metadata + kv_cache + scratch + runtime; }
};

struct FitPlan {
  std::vector<std::optional<QType>> types;  // per tensor in the order given; nullopt: copied unchanged
  FileType ftype = FileType::kQ4_K_M;       // recorded as general.file_type: the type holding most bytes
  int n_ctx = 0;
  uint64_t weight_bytes = 0;      // every tensor of the output
  NonWeightBytes non_weight;
};

// The bytes `model` needs beside its tensors with n_ctx tokens of F16 KV cache, from
// runtime/memory_plan (as `kq fit` plans them); metadata is the input's header plus a margin for the
// keys quantize adds.
NonWeightBytes non_weight_bytes(const GgufFile& model, int n_ctx);

// Chooses a type per tensor of `order` (tensors of `in`) so that the output plus non_weight_bytes
// fits options.budget and the summed predicted loss is least; prints the chosen mix and the
// planned total on stdout. `imatrix` maps weight names to per-column importances (may be null).
// A budget below the smallest mix is a kq::Error naming the smallest size possible.
FitPlan plan_fit(const GgufFile& in, const std::vector<const GgufTensorInfo*>& order,
                 const std::map<std::string, std::vector<float>>* imatrix, const FitOptions& options);

}  // namespace kq::app
