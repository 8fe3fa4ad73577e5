// The per-architecture tensor lists (formats.md A.9), used both to bind and to validate weights.
#include "runtime/model_weights.h"

#include <string>

#include "common/error.h"
#include "formats/gguf.h"
#include "runtime/model_config.h"

namespace kq {
namespace {

// Symbolic dimensions, resolved against the config; kOne marks an absent trailing dim.
enum class Dim { kOne, kE, kV, kF, kQ, kK, kVal, kO, kRot2 };
enum class Need { kRequired, kOptional };
// How a tensor is used: matrices go through matmul/get_rows, vectors are read as plain floats.
enum class Use { kMatrix, kVector };

template <typename Owner>
struct TensorSpec {
  const char* name;  // full name, or the part after "blk.N." for layer tensors
  Dim d0, d1;
  Need need;
  Use use;
  TensorView Owner::*field;
};

using GlobalSpec = TensorSpec<ModelWeights>;
using LayerSpec = TensorSpec<LayerWeights>;

// clang-format off
constexpr GlobalSpec kGlobals[] = {
  {"token_embd.weight",  Dim::kE,    Dim::kV,   Need::kRequired, Use::kMatrix, &ModelWeights::token_embd},
  {"output_norm.weight", Dim::kE,    Dim::kOne, Need::kRequired, Use::kVector, &ModelWeights::output_norm},
  {"output.weight",      Dim::kE,    Dim::kV,   Need::kOptional, Use::kMatrix, &ModelWeights::output},
  {"rope_freqs.weight",  Dim::kRot2, Dim::kOne, Need::kOptional, Use::kVector, &ModelWeights::rope_freqs},
};

// The llama block; qwen2 is the same with required Q/K/V biases and no output bias.
constexpr LayerSpec kLlamaLayer[] = {
  {"attn_norm.weight",   Dim::kE,   Dim::kOne, Need::kRequired, Use::kVector, &LayerWeights::attn_norm},
  {"attn_q.weight",      Dim::kE,   Dim::kQ,   Need::kRequired, Use::kMatrix, &LayerWeights::wq},
  {"attn_k.weight",      Dim::kE,   Dim::kK,   Need::kRequired, Use::kMatrix, &LayerWeights::wk},
  {"attn_v.weight",      Dim::kE,   Dim::kVal, Need::kRequired, Use::kMatrix, &LayerWeights::wv},
  {"attn_output.weight", Dim::kO,   Dim::kE,   Need::kRequired, Use::kMatrix, &LayerWeights::wo},
  {"attn_q.bias",        Dim::kQ,   Dim::kOne, Need::kOptional, Use::kVector, &LayerWeights::bq},
  {"attn_k.bias",        Dim::kK,   Dim::kOne, Need::kOptional, Use::kVector, &LayerWeights::bk},
  {"attn_v.bias",        Dim::kVal, Dim::kOne, Need::kOptional, Use::kVector, &LayerWeights::bv},
  {"attn_output.bias",   Dim::kE,   Dim::kOne, Need::kOptional, Use::kVector, &LayerWeights::bo},
  {"ffn_norm.weight",    Dim::kE,   Dim::kOne, Need::kRequired, Use::kVector, &LayerWeights::ffn_norm},
  {"ffn_gate.weight",    Dim::kE,   Dim::kF,   Need::kRequired, Use::kMatrix, &LayerWeights::w_gate},
  {"ffn_up.weight",      Dim::kE,   Dim::kF,   Need::kRequired, Use::kMatrix, &LayerWeights::w_up},
  {"ffn_down.weight",    Dim::kF,   Dim::kE,   Need::kRequired, Use::kMatrix, &LayerWeights::w_down},
};

constexpr LayerSpec kQwen2Layer[] = {
  {"attn_norm.weight",   Dim::kE,   Dim::kOne, Need::kRequired, Use::kVector, &LayerWeights::attn_norm},
  {"attn_q.weight",      Dim::kE,   Dim::kQ,   Need::kRequired, Use::kMatrix, &LayerWeights::wq},
  {"attn_k.weight",      Dim::kE,   Dim::kK,   Need::kRequired, Use::kMatrix, &LayerWeights::wk},
  {"attn_v.weight",      Dim::kE,   Dim::kVal, Need::kRequired, Use::kMatrix, &LayerWeights::wv},
  {"attn_output.weight", Dim::kO,   Dim::kE,   Need::kRequired, Use::kMatrix, &LayerWeights::wo},
  {"attn_q.bias",        Dim::kQ,   Dim::kOne, Need::kRequired, Use::kVector, &LayerWeights::bq},
  {"attn_k.bias",        Dim::kK,   Dim::kOne, Need::kRequired, Use::kVector, &LayerWeights::bk},
  {"attn_v.bias",        Dim::kVal, Dim::kOne, Need::kRequired, Use::kVector, &LayerWeights::bv},
  {"ffn_norm.weight",    Dim::kE,   Dim::kOne, Need::kRequired, Use::kVector, &LayerWeights::ffn_norm},
  {"ffn_gate.weight",    Dim::kE,   Dim::kF,   Need::kRequired, Use::kMatrix, &LayerWeights::w_gate},
  {"ffn_up.weight",      Dim::kE,   Dim::kF,   Need::kRequired, Use::kMatrix, &LayerWeights::w_up},
  {"ffn_down.weight",    Dim::kF,   Dim::kE,   Need::kRequired, Use::kMatrix, &LayerWeights::w_down},
};
// clang-format on

int64_t resolve(Dim d, const ModelConfig& c) {
  switch (d) {
    case Dim::kOne:
      return 1;
    case Dim::kE:
      return c.n_embd;
    case Dim::kV:
      return c.n_vocab;
    case Dim::kF:
      return c.n_ff;
    case Dim::kQ:
      return c.n_embd_q();
    case Dim::kK:
      return c.n_embd_k();
    case Dim::kVal:
      return c.n_embd_v();
    case Dim::kO:
      return c.n_embd_o();
    case Dim::kRot2:
      return c.n_rot / 2;
  }
  return 0;
}

std::string shape_string(const int64_t* ne, int n) {
  std::string s = "[";
  for (int i = 0; i < n; ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + "]";
}

// Finds, checks and views one tensor; returns an empty view for an absent optional tensor.
template <typename Owner>
TensorView bind_one(const GgufFile& file, const std::string& name, const TensorSpec<Owner>& spec,
                    const ModelConfig& c) {
  const int64_t want[2] = {resolve(spec.d0, c), resolve(spec.d1, c)};
  const int want_dims = spec.d1 == Dim::kOne ? 1 : 2;
  const GgufTensorInfo* t = file.find_tensor(name);
  if (!t) {
    if (spec.need == Need::kOptional) return {};
    throw Error(file.path() + ": missing tensor " + name + " (expected shape " + shape_string(want, want_dims) + ")");
  }
  if (t->ne[0] != want[0] || t->ne[1] != want[1] || t->ne[2] != 1 || t->ne[3] != 1)
    throw Error(file.path() + ": tensor " + name + " has shape " + shape_string(t->ne.data(), int(t->n_dims)) +
                ", expected " + shape_string(want, want_dims));
  const TypeTraits& tt = type_traits(t->type);
  if (spec.use == Use::kVector && t->type != QType::F32)
    throw Error(file.path() + ": tensor " + name + " is " + tt.name + "; kq expects F32 for 1-D tensors");
  if (spec.use == Use::kMatrix && (tt.activation_only || !tt.vec_dot))
    throw Error(file.path() + ": tensor " + name + " has type " + tt.name + ", which kq cannot multiply");
  TensorView v;
  v.type = t->type;
  v.ne = t->ne;
  v.row_bytes = row_size(t->type, t->ne[0]);
  v.data = t->data;
  return v;
}

template <size_t N>
void bind_layer(const GgufFile& file, const ModelConfig& c, const LayerSpec (&list)[N], int il, LayerWeights& l) {
  const std::string prefix = "blk." + std::to_string(il) + ".";
  for (const LayerSpec& spec : list) l.*spec.field = bind_one(file, prefix + spec.name, spec, c);
}

}  // namespace

ModelWeights ModelWeights::bind(const GgufFile& file, const ModelConfig& config) {
  ModelWeights w;
  for (const GlobalSpec& spec : kGlobals) w.*spec.field = bind_one(file, spec.name, spec, config);
  w.tied_output = !w.output.present();
  if (w.tied_output) w.output = w.token_embd;
  w.layers.resize(size_t(config.n_layer));
  for (int il = 0; il < config.n_layer; ++il) {
    if (config.arch == "qwen2") {
      bind_layer(file, config, kQwen2Layer, il, w.layers[size_t(il)]);
    } else {
      bind_layer(file, config, kLlamaLayer, il, w.layers[size_t(il)]);
    }
  }
  return w;
}

}  // namespace kq
