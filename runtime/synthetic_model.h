// Synthetic models: random weights of a known llama shape built in memory, for benchmarks without a download.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "quant/mix.h"
#include "runtime/memory_plan.h"

namespace kq {

class Model;

// The body of a llama-family model (ggml/GGUF llama hyperparameters).
struct SyntheticShape {
  std::string name;  // "llama-1b", or the spec it was parsed from
  int n_embd = 0;
  int n_layer = 0;
  int n_head = 0;
  int n_head_kv = 0;
  int n_ff = 0;
  int n_vocab = 32000;
  int head_dim = 0;  // 0: n_embd / n_head
  int n_ctx_train = 4096;
  float rope_freq_base = 10000.0f;
  float rms_eps = 1e-5f;
};

// The named shapes (llama-1b, llama-3b, llama-7b, llama-8b), in size order.
const std::vector<SyntheticShape>& synthetic_shapes();
// A named shape, or a custom spec "dim=64,layers=2,heads=4,kv_heads=2,ff=128[,vocab=256,head_dim=16,
// rope_base=10000,ctx=512]"; an unknown name or a bad spec is a kq::Error that lists the known names.
SyntheticShape parse_synthetic_shape(const std::string& spec);

struct SyntheticOptions {
  FileType file_type = FileType::kQ4_K_M;
  uint64_t seed = 1;
  bool huge_pages = true;  // madvise(MADV_HUGEPAGE) on the weight memory
  bool repack = false;     // repack eligible weights at load (LoadOptions::repack)
};

// Builds the model in one anonymous, 64-byte-aligned mapping holding a GGUF image (no tokenizer, no
// temp file): every 2-D weight gets the type `kq quantize` would give it for the file type, its rows
// copied from a small pool of random rows quantized with the registry's quantizer; norms are 1.
std::unique_ptr<Model> build_synthetic_model(const SyntheticShape& shape, const SyntheticOptions& options = {});

// The header of the model build_synthetic_model makes and save_synthetic_model writes, without
// building it: tensors typed by the mix, the vocabulary's token lengths, and the file header's size.
ModelHeader synthetic_model_header(const SyntheticShape& shape, FileType file_type);

// Writes a synthetic model to a GGUF file that every kq command can open: its metadata and tensors
// plus a SentencePiece vocabulary of n_vocab tokens (<unk>, <s>, </s>, the 256 byte tokens, then
// filler pieces), so text round-trips through byte fallback.
void save_synthetic_model(const Model& model, const std::string& path);

}  // namespace kq
