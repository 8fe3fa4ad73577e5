// llama.cpp's per-tensor type rules for its file types (formats.md C.5), written from the documented rules.
#include "quant/mix.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <numeric>
#include <regex>

#include "common/error.h"

namespace kq {

namespace {

struct FileTypeRow {
  FileType ft;
  const char* name;
  QType base;  // the type most weights get
};

constexpr FileTypeRow kFileTypes[] = {
    {FileType::kF32, "F32", QType::F32},          {FileType::kF16, "F16", QType::F16},
    {FileType::kBF16, "BF16", QType::BF16},       {FileType::kQ4_0, "Q4_0", QType::Q4_0},
    {FileType::kQ4_1, "Q4_1", QType::Q4_1},       {FileType::kQ5_0, "Q5_0", QType::Q5_0},
    {FileType::kQ5_1, "Q5_1", QType::Q5_1},       {FileType::kQ8_0, "Q8_0", QType::Q8_0},
    {FileType::kQ2_K, "Q2_K", QType::Q2_K},       {FileType::kQ2_K_S, "Q2_K_S", QType::Q2_K},
    {FileType::kQ3_K_S, "Q3_K_S", QType::Q3_K},   {FileType::kQ3_K_M, "Q3_K_M", QType::Q3_K},
    {FileType::kQ3_K_L, "Q3_K_L", QType::Q3_K},   {FileType::kQ4_K_S, "Q4_K_S", QType::Q4_K},
    {FileType::kQ4_K_M, "Q4_K_M", QType::Q4_K},   {FileType::kQ5_K_S, "Q5_K_S", QType::Q5_K},
    {FileType::kQ5_K_M, "Q5_K_M", QType::Q5_K},   {FileType::kQ6_K, "Q6_K", QType::Q6_K},
    {FileType::kIQ4_NL, "IQ4_NL", QType::IQ4_NL}, {FileType::kIQ4_XS, "IQ4_XS", QType::IQ4_XS},
};

// Names of every llama_ftype value, including those kq cannot write (for `kq info`).
struct FileTypeLabel {
  uint32_t id;
  const char* name;
};
constexpr FileTypeLabel kAllLabels[] = {
    {0, "F32"},     {1, "F16"},     {2, "Q4_0"},    {3, "Q4_1"},    {7, "Q8_0"},     {8, "Q5_0"},   {9, "Q5_1"},
    {10, "Q2_K"},   {11, "Q3_K_S"}, {12, "Q3_K_M"}, {13, "Q3_K_L"}, {14, "Q4_K_S"},  {15, "Q4_K_M"}, {16, "Q5_K_S"},
    {17, "Q5_K_M"}, {18, "Q6_K"},   {19, "IQ2_XXS"}, {20, "IQ2_XS"}, {21, "Q2_K_S"}, {22, "IQ3_XS"}, {23, "IQ3_XXS"},
    {24, "IQ1_S"},  {25, "IQ4_NL"}, {26, "IQ3_S"},  {27, "IQ3_M"},  {28, "IQ2_S"},   {29, "IQ2_M"},  {30, "IQ4_XS"},
    {31, "IQ1_M"},  {32, "BF16"},   {36, "TQ1_0"},  {37, "TQ2_0"},
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) == std::toupper(static_cast<unsigned char>(y));
         });
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

// The layer index of "blk.N.xxx", or -1 for tensors outside the blocks.
int layer_of(std::string_view name) {
  if (name.rfind("blk.", 0) != 0) return -1;
  size_t i = 4;
  int layer = 0;
  bool any = false;
  while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i]))) {
    layer = layer * 10 + (name[i] - '0');
    any = true;
    ++i;
  }
  return any && i < name.size() && name[i] == '.' ? layer : -1;
}

// llama.cpp quantizes names ending in "weight" with >= 2 dims, except norms, MoE routers,
// positional / token-type embeddings and a few small 2-D weights of Mamba, RWKV and T5.
bool is_quantizable(const MixTensor& t) {
  const std::string_view n = t.name;
  if (t.n_dims < 2 || !ends_with(n, "weight")) return false;
  static constexpr std::string_view kNever[] = {
      "_norm.weight",          "ffn_gate_inp.weight",     "ssm_conv1d.weight",        "time_mix_first.weight",
      "time_mix_w1.weight",    "time_mix_w2.weight",      "time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
      "time_mix_lerp_fused.weight", "attn_rel_b.weight",
  };
  for (std::string_view s : kNever)
    if (contains(n, s)) return false;
  return n != "position_embd.weight" && n != "token_types.weight";
}

// About half the layers: the first and last eighth, and every third one in between.
bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

// llama.cpp's LLM_TYPE_70B, which gets a bigger attn_v: 80-layer llama with GQA, 80-layer qwen2.
bool is_70b_class(const MixModel& m) {
  if (m.n_layer != 80) return false;
  if (m.arch == "llama") return m.n_head_kv > 0 && m.n_head != m.n_head_kv;
  return m.arch == "qwen2";
}

int n_gqa(const MixModel& m) { return m.n_head_kv > 0 ? m.n_head / m.n_head_kv : 0; }

// Where the rules are walking: llama.cpp's counters of attn_v and ffn_down tensors seen so far.
struct RuleState {
  const MixModel& model;
  FileType ft;
  bool has_imatrix;
  bool has_output;
  int n_attention_wv = 0;
  int i_attention_wv = 0;
  int n_ffn_down = 0;
  int i_ffn_down = 0;
};

// The ffn layer index: the counter for dense models; parsed from the name for MoE models, whose
// expert tensors are not in layer order in every file.
int ffn_layer(const RuleState& s, const std::string& name, int counter) {
  if (s.model.n_expert <= 1) return counter;
  const int layer = layer_of(name);
  if (layer < 0 || layer >= s.n_ffn_down)
    throw Error("tensor '" + name + "': cannot tell its layer (expected blk.N. with N < " +
                std::to_string(s.n_ffn_down) + ")");
  return layer;
}

// The rule type of one quantizable tensor, before the row-length fallback (llama_tensor_get_type).
QType rule_type(RuleState& s, const MixTensor& t, QType type, const MixOptions& options) {
  const std::string& name = t.name;
  const FileType ft = s.ft;
  const bool falcon = s.model.arch == "falcon";
  const int n_expert = s.model.n_expert;
  if (name == "output.weight" || (!s.has_output && name == "token_embd.weight")) {
    // Tied embeddings are quantized as the output.
    if (options.output_type) return *options.output_type;
    if (falcon || t.ne[0] % 256 != 0) return QType::Q8_0;
    return type == QType::Q8_0 ? QType::Q8_0 : QType::Q6_K;
  }
  if (name == "token_embd.weight") return options.token_embd_type ? *options.token_embd_type : type;

  if (contains(name, "attn_v.weight")) {
    const int i = s.i_attention_wv++;
    const int gqa = n_gqa(s.model);
    switch (ft) {
      case FileType::kQ2_K: type = gqa >= 4 ? QType::Q4_K : QType::Q3_K; break;
      case FileType::kQ2_K_S: if (gqa >= 4) type = QType::Q4_K; break;
      case FileType::kQ3_K_M: type = i < 2 ? QType::Q5_K : QType::Q4_K; break;
      case FileType::kQ3_K_L: type = QType::Q5_K; break;
      case FileType::kIQ4_NL:
      case FileType::kIQ4_XS: if (gqa >= 4) type = QType::Q5_K; break;
      case FileType::kQ4_K_M:
      case FileType::kQ5_K_M: if (use_more_bits(i, s.n_attention_wv)) type = QType::Q6_K; break;
      case FileType::kQ4_K_S: if (i < 4) type = QType::Q5_K; break;
      default: break;
    }
    // 70B: attn_v is 8x smaller than attn_q, so more bits cost little.
    if (is_70b_class(s.model) && (type == QType::Q3_K || type == QType::Q4_K)) type = QType::Q5_K;
    if (n_expert == 8) type = QType::Q8_0;
    return type;
  }
  if (contains(name, "attn_k.weight")) return n_expert == 8 ? QType::Q8_0 : type;
  if (contains(name, "attn_q.weight")) return type;
  if (contains(name, "ffn_down")) {
    const int i = ffn_layer(s, name, s.i_ffn_down++), n = s.n_ffn_down;
    switch (ft) {
      case FileType::kQ2_K: return QType::Q3_K;
      case FileType::kQ2_K_S: return i < n / 8 ? QType::Q4_K : type;
      case FileType::kQ3_K_M:
        if (i < n / 16) return QType::Q5_K;
        return !falcon || use_more_bits(i, n) ? QType::Q4_K : QType::Q3_K;
      case FileType::kQ3_K_L: return falcon ? QType::Q4_K : QType::Q5_K;
      case FileType::kQ4_K_M:
        if (falcon) return i < n / 16 ? QType::Q6_K : use_more_bits(i, n) ? QType::Q5_K : QType::Q4_K;
        return use_more_bits(i, n) ? QType::Q6_K : type;
      case FileType::kIQ4_NL:
      case FileType::kIQ4_XS: return i < n / 8 && !s.has_imatrix ? QType::Q5_K : type;
      case FileType::kQ5_K_M: return use_more_bits(i, n) ? QType::Q6_K : type;
      case FileType::kQ4_K_S: return !falcon && i < n / 8 ? QType::Q5_K : type;
      // Only with an imatrix, so that the plain result stays what it always was.
      case FileType::kQ4_0: return s.has_imatrix && i < n / 8 ? QType::Q4_1 : type;
      case FileType::kQ5_0: return s.has_imatrix && i < n / 8 ? QType::Q5_1 : type;
      default: return type;
    }
  }
  if (contains(name, "attn_output.weight")) {
    if (falcon) return ft == FileType::kQ3_K_L ? QType::Q4_K : type;
    if (n_expert == 8) {
      switch (ft) {
        case FileType::kQ2_K: case FileType::kQ3_K_S: case FileType::kQ3_K_M: case FileType::kIQ4_NL:
        case FileType::kQ4_K_S: case FileType::kQ4_K_M: case FileType::kIQ4_XS: return QType::Q5_K;
        default: return type;
      }
    }
    switch (ft) {
      case FileType::kQ2_K: return QType::Q3_K;
      case FileType::kQ3_K_M: return QType::Q4_K;
      case FileType::kQ3_K_L: return QType::Q5_K;
      default: return type;
    }
  }
  if (contains(name, "attn_qkv.weight")) {
    switch (ft) {
      case FileType::kQ3_K_M: case FileType::kQ3_K_L: return QType::Q4_K;
      case FileType::kQ4_K_M: return QType::Q5_K;
      case FileType::kQ5_K_M: return QType::Q6_K;
      default: return type;
    }
  }
  return type;  // attn_q, ffn_gate, ffn_up and the rest keep the default
}

bool fits(QType t, int64_t ne0) { return ne0 % type_traits(t).block_size == 0; }

}  // namespace

std::optional<FileType> parse_file_type(std::string_view name) {
  for (const FileTypeRow& r : kFileTypes)
    if (iequals(name, r.name)) return r.ft;
  // A K type alone names the file type llama.cpp records for a file of only that type.
  if (iequals(name, "Q3_K")) return FileType::kQ3_K_S;
  if (iequals(name, "Q4_K")) return FileType::kQ4_K_S;
  if (iequals(name, "Q5_K")) return FileType::kQ5_K_S;
  // llama-quantize also takes the numeric llama_ftype.
  if (!name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
      name.size() < 4) {
    const int id = std::atoi(std::string(name).c_str());
    for (const FileTypeRow& r : kFileTypes)
      if (static_cast<int>(r.ft) == id) return r.ft;
  }
  return std::nullopt;
}

const char* file_type_name(FileType ft) {
  for (const FileTypeRow& r : kFileTypes)
    if (r.ft == ft) return r.name;
  return "?";
}

std::string file_type_label(int64_t id) {
  for (const FileTypeLabel& l : kAllLabels)
    if (l.id == id) return l.name;
  return "unknown (" + std::to_string(id) + ")";
}

QType file_type_base(FileType ft) {
  for (const FileTypeRow& r : kFileTypes)
    if (r.ft == ft) return r.base;
  throw Error("unknown file type " + std::to_string(static_cast<uint32_t>(ft)));
}

const std::vector<FileType>& all_file_types() {
  static const std::vector<FileType> all = [] {
    std::vector<FileType> v;
    for (const FileTypeRow& r : kFileTypes) v.push_back(r.ft);
    return v;
  }();
  return all;
}

QType row_fallback(QType want, int64_t ne0) {
  if (fits(want, ne0)) return want;
  QType fallback = QType::F16;
  switch (want) {
    case QType::Q2_K: case QType::Q3_K: case QType::IQ4_XS: fallback = QType::IQ4_NL; break;
    case QType::Q4_K: fallback = QType::Q5_0; break;
    case QType::Q5_K: fallback = QType::Q5_1; break;
    case QType::Q6_K: fallback = QType::Q8_0; break;
    default: break;
  }
  return fits(fallback, ne0) ? fallback : QType::F16;
}

std::vector<size_t> llama_tensor_order(const std::vector<MixTensor>& tensors) {
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const int la = layer_of(tensors[a].name), lb = layer_of(tensors[b].name);
    return la != lb ? la < lb : tensors[a].name < tensors[b].name;
  });
  return order;
}

std::vector<std::optional<QType>> plan_mix(FileType ft, const MixModel& model, const std::vector<MixTensor>& tensors,
                                           const MixOptions& options, std::vector<std::string>* notes) {
  const QType base = file_type_base(ft);
  const bool use_rules = !options.pure && type_traits(base).is_quantized;

  // Compiled once; a bad pattern is the caller's error.
  std::vector<std::pair<std::regex, QType>> overrides;
  for (const auto& [pattern, type] : options.tensor_types) {
    try {
      overrides.emplace_back(std::regex(pattern), type);
    } catch (const std::regex_error& e) {
      throw Error("--tensor-type: bad regular expression '" + pattern + "': " + e.what());
    }
  }

  RuleState s{model, ft, options.has_imatrix, false};
  int max_layer = -1;
  for (const MixTensor& t : tensors) {
    const std::string_view n = t.name;
    if (contains(n, "attn_v.weight") || contains(n, "attn_qkv.weight") || contains(n, "attn_kv_b.weight"))
      ++s.n_attention_wv;
    if (n == "output.weight") s.has_output = true;
    max_layer = std::max(max_layer, layer_of(n));
  }
  s.n_ffn_down = model.n_layer > 0 ? model.n_layer : max_layer + 1;

  // The attn_v / ffn_down counters depend on llama.cpp's visiting order.
  std::vector<std::optional<QType>> plan(tensors.size());
  for (size_t index : llama_tensor_order(tensors)) {
    const MixTensor& t = tensors[index];
    if (!is_quantizable(t)) continue;
    QType type = base;
    if (use_rules) {
      type = rule_type(s, t, base, options);
      if (row_fallback(type, t.ne[0]) == type) {  // when the geometry forces a fallback, patterns do not apply
        for (const auto& [re, user] : overrides) {
          if (std::regex_search(t.name, re)) {
            type = user;
            break;  // first match wins
          }
        }
      }
    }
    if (options.token_embd_type && t.name == "token_embd.weight") type = *options.token_embd_type;
    if (options.output_type && t.name == "output.weight") type = *options.output_type;
    const QType fitted = row_fallback(type, t.ne[0]);
    if (notes && fitted != type)
      notes->push_back(t.name + ": rows of " + std::to_string(t.ne[0]) + " are not whole " + type_name(type) +
                       " blocks, using " + type_name(fitted));
    plan[index] = fitted;
  }
  return plan;
}

}  // namespace kq
