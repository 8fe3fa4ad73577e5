// Internal to runtime/: how tokenizer.cpp and the two model files build each other's pieces.
#pragma once

#include <memory>

#include "runtime/tokenizer.h"

namespace kq {

// The special ids and flags a model type assumes when the GGUF does not set them.
struct VocabDefaults {
  int32_t bos = -1, eos = -1, unk = -1;
  bool add_bos = false;
};

// Loads tokens, scores, types and special-token settings (formats.md A.8), applying llama.cpp's
// defaults and its by-name detection of EOT/EOM/end-of-generation tokens.
TokenizerVocab load_vocab(const GgufFile& file, const VocabDefaults& defaults);

std::unique_ptr<Tokenizer> make_spm_tokenizer(const GgufFile& file);  // tokenizer.ggml.model = llama
std::unique_ptr<Tokenizer> make_bpe_tokenizer(const GgufFile& file);  // tokenizer.ggml.model = gpt2

}  // namespace kq
