// Synthetic models: the tensor list of a llama shape, typed by the quant mix, serialized as a GGUF
// image straight into one anonymous mapping and filled from pools of really quantized random rows.
#include "runtime/synthetic_model.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <utility>

#include "common/error.h"
#include "formats/gguf.h"
#include "runtime/model.h"
#include "runtime/tokenizer.h"

namespace kq {

namespace {

constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF"
constexpr uint32_t kAlignment = 64;          // tensor data alignment (cache line, AVX-512 loads)
constexpr int kPoolRows = 64;                // quantized random rows per (type, row length)

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Little-endian GGUF header bytes (metadata and tensor infos); tensor data is written in place later.
class HeaderBytes {
 public:
  template <typename T>
  void pod(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    bytes_.insert(bytes_.end(), p, p + sizeof v);
  }
  void string(const std::string& s) {
    pod<uint64_t>(s.size());
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  // One key/value; only strings and numeric scalars occur in a synthetic model.
  void kv(const std::string& key, const GgufValue& v) {
    string(key);
    pod<uint32_t>(uint32_t(v.type()));
    if (v.type() == GgufType::STRING) {
      string(v.as_string());
    } else {
      bytes_.insert(bytes_.end(), v.raw().begin(), v.raw().end());
    }
  }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

struct PlannedTensor {
  std::string name;
  std::vector<int64_t> ne;
  QType type = QType::F32;
  uint64_t offset = 0;  // in the data section
  uint64_t nbytes = 0;
};

// The llama tensor list of a shape, in the order llama.cpp's converter writes it.
std::vector<PlannedTensor> tensor_list(const SyntheticShape& s) {
  const int64_t e = s.n_embd, v = s.n_vocab, f = s.n_ff;
  const int64_t dk = s.head_dim > 0 ? s.head_dim : s.n_embd / s.n_head;
  const int64_t q = s.n_head * dk, kv = s.n_head_kv * dk;
  std::vector<PlannedTensor> t;
  t.push_back({"token_embd.weight", {e, v}});
  for (int il = 0; il < s.n_layer; ++il) {
    const std::string p = "blk." + std::to_string(il) + ".";
    t.push_back({p + "attn_norm.weight", {e}});
    t.push_back({p + "attn_q.weight", {e, q}});
    t.push_back({p + "attn_k.weight", {e, kv}});
    t.push_back({p + "attn_v.weight", {e, kv}});
    t.push_back({p + "attn_output.weight", {q, e}});
    t.push_back({p + "ffn_norm.weight", {e}});
    t.push_back({p + "ffn_gate.weight", {e, f}});
    t.push_back({p + "ffn_up.weight", {e, f}});
    t.push_back({p + "ffn_down.weight", {f, e}});
  }
  t.push_back({"output_norm.weight", {e}});
  t.push_back({"output.weight", {e, v}});
  return t;
}

// Gives each tensor the type `kq quantize` would: the file type's mix for 2-D weights, F32 for norms.
void assign_types(std::vector<PlannedTensor>& tensors, const SyntheticShape& s, FileType ft) {
  std::vector<MixTensor> mix;
  mix.reserve(tensors.size());
  for (const PlannedTensor& t : tensors) {
    MixTensor m;
    m.name = t.name;
    for (size_t d = 0; d < t.ne.size(); ++d) m.ne[d] = t.ne[d];
    m.n_dims = int(t.ne.size());
    m.type = t.ne.size() == 1 ? QType::F32 : QType::F16;  // as converted from a Hugging Face checkpoint
    mix.push_back(std::move(m));
  }
  MixModel model;
  model.arch = "llama";
  model.n_layer = s.n_layer;
  model.n_head = s.n_head;
  model.n_head_kv = s.n_head_kv;
  const std::vector<std::optional<QType>> types = plan_mix(ft, model, mix);
  for (size_t i = 0; i < tensors.size(); ++i) tensors[i].type = types[i].value_or(mix[i].type);
}

// The anonymous mapping that holds the GGUF image; unmapped when the last owner lets go.
std::shared_ptr<uint8_t> map_anonymous(size_t bytes, bool huge_pages) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    throw Error("synthetic model: cannot map " + std::to_string(bytes) + " bytes: " + std::strerror(errno));
#ifdef MADV_HUGEPAGE
  // Fewer TLB misses while streaming gigabytes of weights per token; advice only, so errors are ignored.
  if (huge_pages) ::madvise(p, bytes, MADV_HUGEPAGE);
#else
  (void)huge_pages;
#endif
  return std::shared_ptr<uint8_t>(static_cast<uint8_t*>(p), [bytes](uint8_t* q) { ::munmap(q, bytes); });
}

// kPoolRows rows of uniform random values (variance 1/n, so a matmul keeps unit scale) quantized to t.
std::vector<uint8_t> make_pool(QType t, int64_t n, uint64_t seed) {
  const size_t rb = row_size(t, n);
  std::vector<uint8_t> pool(rb * kPoolRows);
  std::vector<float> row(static_cast<size_t>(n));
  const float a = std::sqrt(3.0f / float(n));
  uint64_t state = seed;
  for (int r = 0; r < kPoolRows; ++r) {
    for (float& x : row) x = a * (float(splitmix64(state) >> 40) * (2.0f / 16777216.0f) - 1.0f);
    type_traits(t).from_float(row.data(), pool.data() + size_t(r) * rb, n, nullptr);
  }
  return pool;
}

// Fills a weight by copying pseudo-randomly chosen pool rows: valid blocks in distinct memory.
void fill_rows(uint8_t* dst, const PlannedTensor& t, const std::vector<uint8_t>& pool, uint64_t seed) {
  const size_t rb = row_size(t.type, t.ne[0]);
  const int64_t rows = t.ne.size() > 1 ? t.ne[1] : 1;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    uint64_t state = seed ^ (uint64_t(r) * 0xd1b54a32d192ed03ull);
    const size_t pick = size_t(splitmix64(state) % kPoolRows);
    std::memcpy(dst + size_t(r) * rb, pool.data() + pick * rb, rb);
  }
}

int parse_positive(const std::string& spec, const std::string& key, const std::string& value) {
  size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != value.size() || value.empty() || v <= 0 || v > (1 << 24))
    throw Error("synthetic shape '" + spec + "': " + key + "=" + value + " is not a positive integer");
  return int(v);
}

std::string known_names() {
  std::string names;
  for (const SyntheticShape& s : synthetic_shapes()) names += (names.empty() ? "" : ", ") + s.name;
  return names;
}

}  // namespace

const std::vector<SyntheticShape>& synthetic_shapes() {
  // The bodies of the public models, with a 32000 vocabulary and an untied output.
  static const std::vector<SyntheticShape> shapes = {
      {"llama-1b", 2048, 16, 32, 8, 8192, 32000, 64, 131072, 500000.0f, 1e-5f},   // Llama-3.2-1B
      {"llama-3b", 3072, 28, 24, 8, 8192, 32000, 128, 131072, 500000.0f, 1e-5f},  // Llama-3.2-3B
      {"llama-7b", 4096, 32, 32, 32, 11008, 32000, 128, 4096, 10000.0f, 1e-5f},   // Llama-2-7B
      {"llama-8b", 4096, 32, 32, 8, 14336, 32000, 128, 131072, 500000.0f, 1e-5f}, // Llama-3.1-8B
  };
  return shapes;
}

SyntheticShape parse_synthetic_shape(const std::string& spec) {
  for (const SyntheticShape& s : synthetic_shapes())
    if (s.name == spec) return s;
  if (spec.find('=') == std::string::npos)
    throw Error("unknown synthetic shape '" + spec + "' (known: " + known_names() +
                ", or a spec dim=N,layers=N,heads=N,kv_heads=N,ff=N[,vocab=N,head_dim=N,rope_base=X,ctx=N])");
  SyntheticShape s;
  s.name = spec;
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string item = spec.substr(start, comma - start);
    const size_t eq = item.find('=');
    if (eq == std::string::npos) throw Error("synthetic shape '" + spec + "': '" + item + "' is not key=value");
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "dim") s.n_embd = parse_positive(spec, key, value);
    else if (key == "layers") s.n_layer = parse_positive(spec, key, value);
    else if (key == "heads") s.n_head = parse_positive(spec, key, value);
    else if (key == "kv_heads") s.n_head_kv = parse_positive(spec, key, value);
    else if (key == "ff") s.n_ff = parse_positive(spec, key, value);
    else if (key == "vocab") s.n_vocab = parse_positive(spec, key, value);
    else if (key == "head_dim") s.head_dim = parse_positive(spec, key, value);
    else if (key == "ctx") s.n_ctx_train = parse_positive(spec, key, value);
    else if (key == "rope_base") s.rope_freq_base = float(parse_positive(spec, key, value));
    else
      throw Error("synthetic shape '" + spec + "': unknown key '" + key +
                  "' (dim, layers, heads, kv_heads, ff, vocab, head_dim, ctx, rope_base)");
    start = comma + 1;
  }
  for (const auto& [key, v] : {std::pair{"dim", s.n_embd}, std::pair{"layers", s.n_layer},
                               std::pair{"heads", s.n_head}, std::pair{"ff", s.n_ff}})
    if (v == 0) throw Error("synthetic shape '" + spec + "': missing " + key);
  if (s.n_head_kv == 0) s.n_head_kv = s.n_head;
  if (s.n_head % s.n_head_kv != 0)
    throw Error("synthetic shape '" + spec + "': heads is not a multiple of kv_heads");
  if (s.head_dim == 0) {
    if (s.n_embd % s.n_head != 0) throw Error("synthetic shape '" + spec + "': dim is not a multiple of heads");
    s.head_dim = s.n_embd / s.n_head;
  }
  if (s.head_dim % 2 != 0) throw Error("synthetic shape '" + spec + "': the head dimension must be even");
  return s;
}

std::unique_ptr<Model> build_synthetic_model(const SyntheticShape& shape, const SyntheticOptions& options) {
  std::vector<PlannedTensor> tensors = tensor_list(shape);
  assign_types(tensors, shape, options.file_type);
  uint64_t data_bytes = 0;
  for (PlannedTensor& t : tensors) {
    t.nbytes = row_size(t.type, t.ne[0]) * uint64_t(t.ne.size() > 1 ? t.ne[1] : 1);
    t.offset = data_bytes;
    data_bytes += (t.nbytes + kAlignment - 1) / kAlignment * kAlignment;
  }

  const int head_dim = shape.head_dim > 0 ? shape.head_dim : shape.n_embd / shape.n_head;
  const std::vector<std::pair<std::string, GgufValue>> kvs = {
      {"general.architecture", GgufValue::string("llama")},
      {"general.name", GgufValue::string("synthetic " + shape.name)},
      {"general.file_type", GgufValue::u32(uint32_t(options.file_type))},
      {"general.alignment", GgufValue::u32(kAlignment)},
      {"llama.vocab_size", GgufValue::u32(uint32_t(shape.n_vocab))},
      {"llama.context_length", GgufValue::u32(uint32_t(shape.n_ctx_train))},
      {"llama.embedding_length", GgufValue::u32(uint32_t(shape.n_embd))},
      {"llama.block_count", GgufValue::u32(uint32_t(shape.n_layer))},
      {"llama.feed_forward_length", GgufValue::u32(uint32_t(shape.n_ff))},
      {"llama.attention.head_count", GgufValue::u32(uint32_t(shape.n_head))},
      {"llama.attention.head_count_kv", GgufValue::u32(uint32_t(shape.n_head_kv))},
      {"llama.attention.key_length", GgufValue::u32(uint32_t(head_dim))},
      {"llama.attention.value_length", GgufValue::u32(uint32_t(head_dim))},
      {"llama.rope.dimension_count", GgufValue::u32(uint32_t(head_dim))},
      {"llama.rope.freq_base", GgufValue::f32(shape.rope_freq_base)},
      {"llama.attention.layer_norm_rms_epsilon", GgufValue::f32(shape.rms_eps)},
  };
  HeaderBytes h;
  h.pod<uint32_t>(kGgufMagic);
  h.pod<uint32_t>(3);
  h.pod<uint64_t>(tensors.size());
  h.pod<uint64_t>(kvs.size());
  for (const auto& [key, value] : kvs) h.kv(key, value);
  for (const PlannedTensor& t : tensors) {
    h.string(t.name);
    h.pod<uint32_t>(uint32_t(t.ne.size()));
    for (const int64_t d : t.ne) h.pod<uint64_t>(uint64_t(d));
    h.pod<uint32_t>(uint32_t(t.type));
    h.pod<uint64_t>(t.offset);
  }
  const size_t header = (h.bytes().size() + kAlignment - 1) / kAlignment * kAlignment;
  const size_t total = header + size_t(data_bytes);

  // One buffer: the header, then every tensor written where the reader will find it.
  std::shared_ptr<uint8_t> image = map_anonymous(total, options.huge_pages);
  uint8_t* base = image.get();
  std::memcpy(base, h.bytes().data(), h.bytes().size());
  std::map<std::pair<QType, int64_t>, std::vector<uint8_t>> pools;
  uint64_t tensor_seed = options.seed;
  for (const PlannedTensor& t : tensors) {
    uint8_t* dst = base + header + t.offset;
    const uint64_t seed = splitmix64(tensor_seed);
    if (t.ne.size() == 1) {  // norms: all ones, so every layer passes its input on at unit scale
      std::fill_n(reinterpret_cast<float*>(dst), t.ne[0], 1.0f);
      continue;
    }
    auto [it, fresh] = pools.try_emplace({t.type, t.ne[0]});
    if (fresh) it->second = make_pool(t.type, t.ne[0], options.seed ^ (uint64_t(t.type) << 32) ^ uint64_t(t.ne[0]));
    fill_rows(dst, t, it->second, seed);
  }
  GgufFile file = GgufFile::from_memory(base, total, "synthetic " + shape.name);
  LoadOptions load;
  load.repack = options.repack;
  return Model::from_gguf(std::move(file), std::shared_ptr<const void>(image, image.get()), load);
}

namespace {

// The texts of save_synthetic_model's vocabulary of n tokens.
std::vector<std::string> synthetic_vocab(int64_t n) {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  char piece[16];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(piece, sizeof piece, "<0x%02X>", b);
    tokens.emplace_back(piece);
  }
  // "▁synN": pieces that text never produces.
  while (int64_t(tokens.size()) < n) tokens.push_back("\xE2\x96\x81syn" + std::to_string(tokens.size()));
  return tokens;
}

}  // namespace

ModelHeader synthetic_model_header(const SyntheticShape& shape, FileType file_type) {
  std::vector<PlannedTensor> tensors = tensor_list(shape);
  assign_types(tensors, shape, file_type);
  ModelHeader h;
  ModelConfig& c = h.config;
  c.arch = "llama";
  c.n_vocab = shape.n_vocab;
  c.n_embd = shape.n_embd;
  c.n_layer = shape.n_layer;
  c.n_ff = shape.n_ff;
  c.n_head = shape.n_head;
  c.n_head_kv = shape.n_head_kv;
  c.head_dim = c.head_dim_v = c.n_rot = shape.head_dim > 0 ? shape.head_dim : shape.n_embd / shape.n_head;
  c.n_ctx_train = shape.n_ctx_train;
  c.rms_eps = shape.rms_eps;
  c.rope_freq_base = shape.rope_freq_base;
  // The GGUF header: tensor infos, the vocabulary (string, score, type per token) and ~1 KiB of
  // scalar metadata, then the data section's padding.
  uint64_t header = 1024;
  for (const PlannedTensor& t : tensors) {
    PlanTensor p;
    p.name = t.name;
    p.type = t.type;
    for (size_t d = 0; d < t.ne.size(); ++d) p.ne[d] = t.ne[d];
    p.file_bytes = p.resident_bytes = row_size(t.type, t.ne[0]) * uint64_t(t.ne.size() > 1 ? t.ne[1] : 1);
    header += 8 + t.name.size() + 4 + 8 * t.ne.size() + 4 + 8 + (kAlignment - p.file_bytes % kAlignment) % kAlignment;
    h.tensors.push_back(std::move(p));
  }
  for (const std::string& t : synthetic_vocab(shape.n_vocab)) {
    h.token_lengths.push_back(uint32_t(t.size()));
    header += 8 + t.size() + 4 + 4;
  }
  h.file_header_bytes = header;
  return h;
}

void save_synthetic_model(const Model& model, const std::string& path) {
  const GgufFile& src = model.gguf();
  const int64_t n_vocab = src.get_int("llama.vocab_size", 0);
  if (n_vocab < 3 + 256) throw Error("synthetic model: a vocabulary of " + std::to_string(n_vocab) +
                                     " tokens cannot hold the 259 special and byte tokens");
  GgufWriter w;
  w.copy_metadata(src);
  std::vector<std::string> tokens = synthetic_vocab(n_vocab);
  const auto type_id = [](TokenType t) { return static_cast<int32_t>(t); };
  std::vector<int32_t> types = {type_id(TokenType::kUnknown), type_id(TokenType::kControl),
                                type_id(TokenType::kControl)};
  types.resize(3 + 256, type_id(TokenType::kByte));
  types.resize(size_t(n_vocab), type_id(TokenType::kNormal));
  w.set("tokenizer.ggml.model", GgufValue::string("llama"));
  w.set("tokenizer.ggml.tokens", GgufValue::string_array(std::move(tokens)));
  w.set("tokenizer.ggml.scores", GgufValue::f32_array(std::vector<float>(size_t(n_vocab), 0.0f)));
  w.set("tokenizer.ggml.token_type", GgufValue::i32_array(types));
  w.set("tokenizer.ggml.bos_token_id", GgufValue::u32(1));
  w.set("tokenizer.ggml.eos_token_id", GgufValue::u32(2));
  w.set("tokenizer.ggml.unknown_token_id", GgufValue::u32(0));
  for (const GgufTensorInfo& t : src.tensors())
    w.add_tensor(t.name, t.type, std::vector<int64_t>(t.ne.begin(), t.ne.begin() + t.n_dims), t.data);
  w.write(path);
}

}  // namespace kq
