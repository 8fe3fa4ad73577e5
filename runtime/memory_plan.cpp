// Memory plan: buffer sizes shared with Session, the whole-process estimate, and the context search.
#include "runtime/memory_plan.h"

#include <algorithm>
#include <cmath>
#include <string_view>

#include "common/error.h"
#include "formats/gguf.h"
#include "runtime/kv_cache.h"
#include "runtime/matmul.h"
#include "runtime/matmul_onednn.h"
#include "runtime/session.h"

namespace kq {

namespace {

// glibc malloc's footprint of a request: 8 bytes of header, 16-byte granules, 32 bytes at least.
uint64_t malloc_chunk(uint64_t n) {
  return n == 0 ? 0 : std::max<uint64_t>(32, (n + 8 + 15) & ~uint64_t(15));
}

// libstdc++ keeps up to 15 characters inside the std::string object; longer ones live on the heap.
uint64_t string_heap(uint64_t length) {
  return length > 15 ? malloc_chunk(length + 1) : 0;
}

uint64_t strings_bytes(const std::vector<uint32_t>& lengths, uint32_t extra_chars) {
  uint64_t bytes = malloc_chunk(32 * uint64_t(lengths.size()));  // the vector of string objects
  for (const uint32_t n : lengths) bytes += string_heap(uint64_t(n) + extra_chars);
  return bytes;
}

// An unordered_map<std::string, int32_t> of n keys: one 64-byte node per key, a bucket pointer per key.
uint64_t string_map_bytes(const std::vector<uint32_t>& key_lengths, uint32_t extra_chars) {
  uint64_t bytes = malloc_chunk(8 * uint64_t(key_lengths.size()));
  for (const uint32_t n : key_lengths) bytes += 64 + string_heap(uint64_t(n) + extra_chars);
  return bytes;
}

uint64_t tensor_bytes(const TensorView& t) {
  return uint64_t(t.row_bytes) * uint64_t(t.n_rows());
}

// Bytes of an untied embedding table that n_tokens lookups map: each lookup faults in the aligned
// 64 KiB window around its row (Linux's default fault-around, for pages in the page cache), and
// random ids hit W·(1 − (1 − 1/W)^n) distinct windows of the table's W.
uint64_t embedding_pages(uint64_t table_bytes, uint64_t row_bytes, int n_tokens) {
  const uint64_t window = std::max<uint64_t>(kFaultAroundBytes, (row_bytes + 4095) / 4096 * 4096);
  const double windows = std::ceil(double(table_bytes) / double(window));
  const double touched = windows * (1.0 - std::pow(1.0 - 1.0 / windows, double(std::max(n_tokens, 0))));
  return std::min<uint64_t>(table_bytes, uint64_t(std::ceil(touched)) * window);
}

int resolve_ctx(const ModelConfig& c, int requested) {
  return requested > 0 ? requested : std::min(c.n_ctx_train, 4096);
}

}  // namespace

ModelHeader ModelHeader::from_gguf(const GgufFile& file) {
  ModelHeader h;
  h.config = ModelConfig::from_gguf(file);
  uint64_t data = 0;
  for (const GgufTensorInfo& t : file.tensors()) {
    PlanTensor p;
    p.name = t.name;
    p.type = t.type;
    p.ne = t.ne;
    p.file_bytes = t.nbytes;
    p.resident_bytes = t.nbytes;
    data += t.nbytes;
    h.tensors.push_back(std::move(p));
  }
  h.file_header_bytes = file.file_size() > data ? file.file_size() - data : 0;
  if (const GgufValue* v = file.find("tokenizer.ggml.tokens"); v && v->is_array() && v->elem_type() == GgufType::STRING)
    for (const std::string& s : v->strings()) h.token_lengths.push_back(uint32_t(s.size()));
  if (const GgufValue* v = file.find("tokenizer.ggml.merges"); v && v->is_array() && v->elem_type() == GgufType::STRING)
    for (const std::string& s : v->strings()) h.merge_lengths.push_back(uint32_t(s.size()));
  return h;
}

size_t SessionBuffers::activation_bytes() const {
  return (x + xb + xo + q + k + v + att + hb + hb2 + rope_cs) * sizeof(float);
}

size_t SessionBuffers::total_bytes() const {
  return activation_bytes() + mm_scratch + attention_bytes() + logits * sizeof(float) + kv_bytes();
}

SessionBuffers plan_session_buffers(const ModelConfig& c, const std::vector<TensorView>& matmul_weights,
                                    const PlanOptions& o) {
  SessionBuffers s;
  s.n_ctx = resolve_ctx(c, o.n_ctx);
  s.n_batch = std::clamp(o.n_batch, 1, s.n_ctx);
  s.n_threads = o.n_threads > 0 ? o.n_threads : physical_cores();
  s.cache_type = o.cache_type;
  // The cache first: it rejects an unsupported type before anything is sized by it.
  const KvCacheBytes kv =
      KvCache::planned_bytes(c.n_layer, s.n_ctx, c.n_head_kv, c.head_dim, c.head_dim_v, s.cache_type);
  s.kv_k = kv.k;
  s.kv_v = kv.v;
  const size_t b = size_t(s.n_batch);
  s.x = s.xb = s.xo = b * size_t(c.n_embd);
  s.q = b * size_t(c.n_embd_q());
  s.k = b * size_t(c.n_embd_k());
  s.v = b * size_t(c.n_embd_v());
  s.att = b * size_t(c.n_embd_o());
  s.hb = s.hb2 = b * size_t(c.n_ff);
  s.rope_cs = b * size_t(c.n_rot);
  for (const TensorView& w : matmul_weights)
    s.mm_scratch = std::max(s.mm_scratch, matmul_scratch_bytes(w, s.n_batch, s.n_threads));
  s.attn = attention_scratch_sizes(s.cache_type, s.n_ctx, c.head_dim, c.head_dim_v);
  s.logits = size_t(c.n_vocab);
  return s;
}

std::vector<TensorView> header_matmul_weights(const ModelHeader& header) {
  const auto find = [&](std::string_view name) -> const PlanTensor* {
    for (const PlanTensor& t : header.tensors)
      if (t.name == name) return &t;
    return nullptr;
  };
  const auto view = [](const PlanTensor& t) {
    TensorView v;
    v.type = t.type;
    v.ne = t.ne;
    v.row_bytes = row_size(t.type, t.ne[0]);
    return v;
  };
  std::vector<TensorView> out;
  const PlanTensor* output = find("output.weight");
  if (!output) output = find("token_embd.weight");  // tied output
  if (!output) throw Error("model has neither output.weight nor token_embd.weight");
  out.push_back(view(*output));
  for (int il = 0; il < header.config.n_layer; ++il) {
    const std::string prefix = "blk." + std::to_string(il) + ".";
    for (const char* name : {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"}) {
      const PlanTensor* t = find(prefix + name + ".weight");
      if (!t) throw Error("model has no tensor " + prefix + name + ".weight");
      out.push_back(view(*t));
    }
  }
  return out;
}

uint64_t tokenizer_bytes(const std::vector<uint32_t>& token_lengths, const std::vector<uint32_t>& merge_lengths) {
  const uint64_t n = token_lengths.size();
  if (n == 0) return 0;
  // GGUF metadata keeps tokens (and merges) as strings, scores and types as raw arrays.
  uint64_t bytes = strings_bytes(token_lengths, 0) + 2 * malloc_chunk(4 * n);
  // The tokenizer: its own texts, scores, types and the text → id map.
  bytes += strings_bytes(token_lengths, 0) + 2 * malloc_chunk(4 * n) + string_map_bytes(token_lengths, 0);
  if (!merge_lengths.empty()) {
    // BPE ranks keyed by "<len(left)>:<left><right>": the line, minus its space, plus 2-3 characters.
    bytes += strings_bytes(merge_lengths, 0) + string_map_bytes(merge_lengths, 2);
  }
  return bytes;
}

MemoryPlan plan_memory(const ModelHeader& header, const PlanOptions& options, int n_tokens) {
  const ModelConfig& c = header.config;
  const std::vector<TensorView> matmuls = header_matmul_weights(header);
  MemoryPlan p;
  p.buffers = plan_session_buffers(c, matmuls, options);
  p.n_ctx = p.buffers.n_ctx;
  p.n_batch = p.buffers.n_batch;
  p.n_threads = p.buffers.n_threads;
  p.cache_type = p.buffers.cache_type;

  bool tied = true;
  for (const PlanTensor& t : header.tensors) tied = tied && t.name != "output.weight";
  p.layers.assign(size_t(std::max(c.n_layer, 0)), LayerPlan{});
  for (const PlanTensor& t : header.tensors) {
    if (!tied && t.name == "token_embd.weight") {
      p.embedding_table = t.resident_bytes;
      p.embeddings = embedding_pages(t.resident_bytes, row_size(t.type, t.ne[0]), n_tokens > 0 ? n_tokens : p.n_ctx);
      continue;
    }
    p.weights += t.resident_bytes;
    int il = -1;
    if (t.name.rfind("blk.", 0) == 0) il = std::atoi(t.name.c_str() + 4);
    if (il >= 0 && il < c.n_layer) p.layers[size_t(il)].weight_bytes += t.resident_bytes;
  }
  for (LayerPlan& l : p.layers) l.kv_bytes = p.buffers.kv_bytes() / size_t(std::max(c.n_layer, 1));
  p.file_header = header.file_header_bytes;
  p.kv_cache = p.buffers.kv_bytes();
  p.scratch = p.buffers.activation_bytes() + p.buffers.mm_scratch + p.buffers.attention_bytes();
  // The logits row, and the sampler's candidates (id, logit) and probabilities (double) per token.
  p.output = p.buffers.logits * sizeof(float) + uint64_t(c.n_vocab) * (8 + 8);
  p.tokenizer = tokenizer_bytes(header.token_lengths, header.merge_lengths);
  p.overhead = kFixedOverheadBytes;
  for (const TensorView& w : matmuls) {
    if (!onednn_matmul_used(w, p.n_batch)) continue;
    p.overhead += kOnednnOverheadBytes;
    break;
  }
  p.total = p.weights + p.embeddings + p.file_header + p.kv_cache + p.scratch + p.output + p.tokenizer + p.overhead;

  // One decode step streams every matmul weight once and copies one embedding row.
  for (const TensorView& w : matmuls) p.decode_bytes += tensor_bytes(w);
  for (const PlanTensor& t : header.tensors)
    if (t.name == "token_embd.weight" && !tied) p.decode_bytes += row_size(t.type, t.ne[0]);
  return p;
}

int largest_fitting_context(const ModelHeader& header, PlanOptions options, uint64_t budget, int max_ctx) {
  // The total grows with n_ctx (KV cache, attention scores), so bisect.
  const auto fits = [&](int n) {
    options.n_ctx = n;
    return plan_memory(header, options).total <= budget;
  };
  if (max_ctx < 1 || !fits(1)) return 0;
  int lo = 1, hi = max_ctx;
  while (lo < hi) {
    const int mid = lo + (hi - lo + 1) / 2;
    if (fits(mid)) lo = mid; else hi = mid - 1;
  }
  return lo;
}

}  // namespace kq
