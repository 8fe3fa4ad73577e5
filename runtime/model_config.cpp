// Reads llama / qwen2 hyperparameters from GGUF keys (formats.md A.7), any integer width.
#include "runtime/model_config.h"

#include <cmath>
#include <limits>
#include <string>

#include "common/error.h"
#include "formats/gguf.h"

namespace kq {
namespace {

constexpr int64_t kAbsent = std::numeric_limits<int64_t>::min();

// Returns an integer key that may also be a per-layer array; arrays must hold one value for every
// layer (kq has no per-layer shapes yet), else kq::Error. kAbsent when the key is missing.
int64_t get_uniform_int(const GgufFile& file, const std::string& key, int64_t n_layer) {
  const GgufValue* v = file.find(key);
  if (!v) return kAbsent;
  if (!v->is_array()) return v->as_int();
  if (v->size() == 0) throw Error(file.path() + ": " + key + " is an empty array");
  if (n_layer > 0 && int64_t(v->size()) != n_layer)
    throw Error(file.path() + ": " + key + " has " + std::to_string(v->size()) + " entries for " +
                std::to_string(n_layer) + " layers");
  const int64_t first = v->int_at(0);
  for (size_t i = 1; i < v->size(); ++i)
    if (v->int_at(i) != first)
      throw Error(file.path() + ": " + key + " differs between layers (" + std::to_string(first) + " in layer 0, " +
                  std::to_string(v->int_at(i)) + " in layer " + std::to_string(i) + "); kq needs uniform layers");
  return first;
}

// Returns a required positive integer that fits an int.
int require_positive(const GgufFile& file, const std::string& key, int64_t value) {
  if (value == kAbsent) throw Error(file.path() + ": missing required key " + key);
  if (value <= 0 || value > std::numeric_limits<int>::max())
    throw Error(file.path() + ": " + key + " = " + std::to_string(value) + " is out of range");
  return int(value);
}

// Applies the architecture's fixed choices; unknown ones are refused by name.
void apply_architecture(ModelConfig& c, const std::string& path) {
  if (c.arch == "llama") {
    c.rope_type = RopeType::kNorm;
    c.qkv_bias = false;
  } else if (c.arch == "qwen2") {
    c.rope_type = RopeType::kNeox;
    c.qkv_bias = true;
  } else {
    throw Error(path + ": unsupported architecture '" + c.arch + "' (kq runs llama and qwen2)");
  }
}

// Reads rope.freq_base and the linear scaling factor; YaRN and LongRoPE are refused.
void read_rope(const GgufFile& file, ModelConfig& c) {
  const std::string p = c.arch + ".rope.";
  c.rope_freq_base = float(file.get_float(p + "freq_base", 10000.0));
  const std::string type = file.get_string(p + "scaling.type", "linear");
  if (type != "none" && type != "linear")
    throw Error(file.path() + ": " + p + "scaling.type '" + type + "' is not supported (kq supports none, linear)");
  double factor = file.get_float(p + "scaling.factor", 0.0);
  if (factor == 0.0) factor = file.get_float(p + "scale_linear", 0.0);  // legacy key
  c.rope_freq_scale = (type == "none" || factor == 0.0) ? 1.0f : float(1.0 / factor);
  const int64_t n_rot = get_uniform_int(file, p + "dimension_count", 0);
  c.n_rot = n_rot == kAbsent ? c.head_dim : require_positive(file, p + "dimension_count", n_rot);
  if (c.n_rot % 2 != 0 || c.n_rot > c.head_dim)
    throw Error(file.path() + ": " + p + "dimension_count = " + std::to_string(c.n_rot) +
                " must be even and at most the head dimension " + std::to_string(c.head_dim));
}

// Returns {arch}.vocab_size, else the token list length, else token_embd's row count.
int read_vocab_size(const GgufFile& file, const std::string& arch) {
  const int64_t v = get_uniform_int(file, arch + ".vocab_size", 0);
  if (v != kAbsent) return require_positive(file, arch + ".vocab_size", v);
  if (const GgufValue* tokens = file.find("tokenizer.ggml.tokens"); tokens && tokens->is_array())
    return require_positive(file, "tokenizer.ggml.tokens (length)", int64_t(tokens->size()));
  if (const GgufTensorInfo* t = file.find_tensor("token_embd.weight"))
    return require_positive(file, "token_embd.weight rows", t->ne[1]);
  throw Error(file.path() + ": cannot tell the vocabulary size (no " + arch +
              ".vocab_size, tokenizer.ggml.tokens or token_embd.weight)");
}

}  // namespace

ModelConfig ModelConfig::from_gguf(const GgufFile& file) {
  ModelConfig c;
  c.arch = file.get_string("general.architecture", "");
  if (c.arch.empty()) throw Error(file.path() + ": missing required key general.architecture");
  apply_architecture(c, file.path());
  const std::string a = c.arch + ".";

  c.n_layer = require_positive(file, a + "block_count", get_uniform_int(file, a + "block_count", 0));
  c.n_embd = require_positive(file, a + "embedding_length", get_uniform_int(file, a + "embedding_length", 0));
  c.n_ctx_train = require_positive(file, a + "context_length", get_uniform_int(file, a + "context_length", 0));
  c.n_ff =
      require_positive(file, a + "feed_forward_length", get_uniform_int(file, a + "feed_forward_length", c.n_layer));
  c.n_head =
      require_positive(file, a + "attention.head_count", get_uniform_int(file, a + "attention.head_count", c.n_layer));
  const int64_t n_head_kv = get_uniform_int(file, a + "attention.head_count_kv", c.n_layer);
  c.n_head_kv = n_head_kv == kAbsent ? c.n_head : require_positive(file, a + "attention.head_count_kv", n_head_kv);
  if (c.n_head % c.n_head_kv != 0)
    throw Error(file.path() + ": " + a + "attention.head_count " + std::to_string(c.n_head) +
                " is not a multiple of head_count_kv " + std::to_string(c.n_head_kv));

  // Head widths default to n_embd / n_head, as llama.cpp does.
  const int64_t dk = get_uniform_int(file, a + "attention.key_length", 0);
  const int64_t dv = get_uniform_int(file, a + "attention.value_length", 0);
  if ((dk == kAbsent || dv == kAbsent) && c.n_embd % c.n_head != 0)
    throw Error(file.path() + ": " + a + "embedding_length " + std::to_string(c.n_embd) +
                " is not a multiple of head_count " + std::to_string(c.n_head));
  c.head_dim = dk == kAbsent ? c.n_embd / c.n_head : require_positive(file, a + "attention.key_length", dk);
  c.head_dim_v = dv == kAbsent ? c.n_embd / c.n_head : require_positive(file, a + "attention.value_length", dv);

  const GgufValue* eps = file.find(a + "attention.layer_norm_rms_epsilon");
  if (!eps) throw Error(file.path() + ": missing required key " + a + "attention.layer_norm_rms_epsilon");
  c.rms_eps = float(eps->as_float());
  if (!(c.rms_eps >= 0.0f) || !std::isfinite(c.rms_eps))
    throw Error(file.path() + ": " + a + "attention.layer_norm_rms_epsilon is not a finite value >= 0");

  read_rope(file, c);
  c.n_vocab = read_vocab_size(file, c.arch);
  return c;
}

}  // namespace kq
