// `kq quantize`: rewrites a GGUF model in one of llama.cpp's file types, per-tensor types from quant/mix.
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "apps/kq/args.h"
#include "apps/kq/commands.h"
#include "apps/kq/duration.h"
#include "apps/kq/quantize_fit.h"
#include "formats/gguf.h"
#include "formats/imatrix_file.h"
#include "quant/mix.h"

namespace kq::app {

namespace {

constexpr const char* kQuantizeUsage =
    "usage: kq quantize IN OUT TYPE [options]\n"
    "       kq quantize IN OUT --fit SIZE [-c N] [options]\n"
    "       kq quantize IN TYPE --dry-run [options]     (or IN --fit SIZE --dry-run)\n"
    "  TYPE                      a llama.cpp file type (case-insensitive, or its number):\n"
    "                              Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q2_K_S Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q4_K_M\n"
    "                              Q5_K_S Q5_K_M Q6_K IQ4_NL IQ4_XS F16 BF16 F32\n"
    "                            (Q3_K, Q4_K, Q5_K mean Q3_K_S, Q4_K_S, Q5_K_S). Each tensor gets the type\n"
    "                            llama.cpp's rules give it by role and layer (Q4_K_M: attn_v and ffn_down\n"
    "                            on about half the layers Q6_K, output Q6_K, the rest Q4_K); norms, biases\n"
    "                            and other 1-D tensors are copied; a weight whose rows are not whole blocks\n"
    "                            falls back (Q2_K/Q3_K/IQ4_XS -> IQ4_NL, Q4_K -> Q5_0, Q5_K -> Q5_1,\n"
    "                            Q6_K -> Q8_0, else F16)\n"
    "  --fit SIZE                instead of TYPE: choose each weight's type from Q2_K Q3_K IQ4_XS Q4_K Q5_K\n"
    "                            Q6_K Q8_0 (row-length fallbacks as above) so that tensors + metadata + an\n"
    "                            F16 KV cache for -c tokens + scratch + runtime (as kq fit plans them) fit\n"
    "                            in SIZE (bytes, or 512M, 1.5G: 1024-based), with the least summed\n"
    "                            predicted loss (a knapsack solved exactly over 65536 byte buckets). A\n"
    "                            weight's loss for a type: its importance-weighted squared quantization\n"
    "                            error over its importance-weighted energy (importance: the --imatrix\n"
    "                            values, else 1 for every column), times 2*n_layer+1 for the output (or\n"
    "                            tied embedding), whose noise reaches the logits undiluted; measured on up\n"
    "                            to 262144 values (evenly spaced rows). Prints the chosen mix and the\n"
    "                            planned total; a SIZE below the smallest mix is an error that names the\n"
    "                            smallest size\n"
    "  -c, --ctx-size N          with --fit: tokens of KV cache to plan for (default: min(the model's\n"
    "                            training context, 4096), the context kq run uses)\n"
    "  --pure                    no per-tensor rules: every weight gets the file type's base type\n"
    "  --imatrix FILE            importance matrix (llama.cpp imatrix .dat or GGUF) to weight the errors\n"
    "  --tensor-type REGEX=T     tensors whose name matches REGEX (searched, ECMAScript) get block type T;\n"
    "                            repeatable, the first matching pattern wins; not with --pure, and not\n"
    "                            where a row-length fallback applies\n"
    "  --output-tensor-type T    block type of output.weight (of token_embd.weight when the output is tied)\n"
    "  --token-embedding-type T  block type of token_embd.weight\n"
    "  --allow-requantize        accept quantized input (dequantized, then quantized again)\n"
    "  --llama-exact             write exactly the bytes llama-quantize writes (default: the same block\n"
    "                            formats with kq's refined scale search, which loses less accuracy)\n"
    "  --dry-run                 print the plan (tensor, type, bytes; total size and bpw), write nothing\n"
    "  -t, --threads N           threads (default: all cores)\n"
    "  T is a block type: F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K IQ4_NL IQ4_XS\n";

struct QuantizeOptions {
  std::string in, out;
  FileType ftype = FileType::kF32;
  MixOptions mix;
  std::string imatrix;
  bool allow_requantize = false;
  bool llama_exact = false;  // the reference quantizers instead of the refined ones
  bool dry_run = false;
  int threads = 0;
  std::optional<uint64_t> fit;  // --fit SIZE: choose the types to fit this many bytes
  int n_ctx = 0;                // -c with --fit
};

// A block type given to an option (or as the TYPE operand, to explain why it is not a file type).
QType parse_block_type(const std::string& what, const std::string& name) {
  const TypeTraits* t = find_type(name);
  if (!t) throw UsageError(what + ": unknown type '" + name + "'");
  if (t->activation_only) throw UsageError(std::string(t->name) + " is an activation-only type, not for weights");
  return t->type;
}

QuantizeOptions parse_quantize_args(const std::vector<std::string>& args) {
  QuantizeOptions o;
  std::vector<std::string> positional;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--pure") {
      o.mix.pure = true;
    } else if (a == "--allow-requantize") {
      o.allow_requantize = true;
    } else if (a == "--llama-exact") {
      o.llama_exact = true;
    } else if (a == "--dry-run") {
      o.dry_run = true;
    } else if (a == "--imatrix") {
      o.imatrix = flag_value(args, i);
    } else if (a == "--output-tensor-type") {
      o.mix.output_type = parse_block_type(a, flag_value(args, i));
    } else if (a == "--token-embedding-type") {
      o.mix.token_embd_type = parse_block_type(a, flag_value(args, i));
    } else if (a == "--tensor-type") {
      const std::string& v = flag_value(args, i);
      const size_t eq = v.rfind('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == v.size())
        throw UsageError("--tensor-type needs REGEX=TYPE, got '" + v + "'");
      const std::string pattern = v.substr(0, eq);
      try {
        (void)std::regex(pattern);
      } catch (const std::regex_error& e) {
        throw UsageError("--tensor-type: bad regular expression '" + pattern + "': " + e.what());
      }
      o.mix.tensor_types.emplace_back(pattern, parse_block_type(a, v.substr(eq + 1)));
    } else if (a == "--fit") {
      o.fit = parse_size(a, flag_value(args, i));
    } else if (a == "-c" || a == "--ctx-size") {
      o.n_ctx = parse_int(a, flag_value(args, i));
      if (o.n_ctx < 1) throw UsageError("option " + a + " needs a count >= 1");
    } else if (a == "-t" || a == "--threads") {
      o.threads = parse_int(a, flag_value(args, i));
      if (o.threads < 1) throw UsageError("option " + a + " needs a count >= 1");
    } else if (a.size() > 1 && a[0] == '-') {
      throw UsageError("unknown option '" + a + "'");
    } else {
      positional.push_back(a);
    }
  }
  if (o.fit) {
    if (o.mix.pure || !o.mix.tensor_types.empty() || o.mix.output_type || o.mix.token_embd_type)
      throw UsageError("--fit chooses every weight's type: not with --pure, --tensor-type, --output-tensor-type "
                       "or --token-embedding-type");
    if (o.dry_run && positional.size() == 1) positional.push_back("");
    if (positional.size() != 2) throw UsageError("with --fit, expected IN OUT (no TYPE: --fit chooses the types)");
    o.in = positional[0];
    o.out = positional[1];
    return o;
  }
  if (o.n_ctx) throw UsageError("-c is for --fit");
  if (o.dry_run && positional.size() == 2) positional.insert(positional.begin() + 1, "");
  if (positional.size() != 3) throw UsageError("expected IN OUT TYPE");
  o.in = positional[0];
  o.out = positional[1];
  const std::optional<FileType> ft = parse_file_type(positional[2]);
  if (!ft) {
    if (const TypeTraits* t = find_type(positional[2]); t && t->activation_only)
      throw UsageError(std::string(t->name) + " is an activation-only type, not for weights");
    throw UsageError("unknown file type '" + positional[2] + "'");
  }
  o.ftype = *ft;
  return o;
}

// The model facts the mix rules look at, from the GGUF metadata.
MixModel mix_model(const GgufFile& f) {
  MixModel m;
  m.arch = f.get_string("general.architecture");
  const auto first_int = [&](const std::string& key, int64_t def) -> int64_t {
    const GgufValue* v = f.find(key);
    if (!v) return def;
    if (v->is_array()) return v->size() ? v->int_at(0) : def;  // per-layer values: llama.cpp looks at layer 0
    return v->as_int();
  };
  m.n_layer = static_cast<int>(first_int(m.arch + ".block_count", 0));
  m.n_head = static_cast<int>(first_int(m.arch + ".attention.head_count", 0));
  m.n_head_kv = static_cast<int>(first_int(m.arch + ".attention.head_count_kv", m.n_head));
  m.n_expert = static_cast<int>(first_int(m.arch + ".expert_count", 0));
  return m;
}

// Converts every row of `src` into `dst` (type `to`) through float32, rows split over threads.
// importance: null, or ne[0] values per matrix (ne[0]·ne[2] for stacked expert weights).
// exact: llama.cpp's quantizer (from_float) rather than the refined one.
void convert_rows(const GgufTensorInfo& src, QType to, uint8_t* dst, int threads, const float* importance,
                  bool exact) {
  const TypeTraits& from_t = type_traits(src.type);
  const TypeTraits& to_t = type_traits(to);
  const QuantizeRowFn quantize_row = exact ? to_t.from_float : best_quantizer(to_t);
  const int64_t n = src.ne[0], rows = src.n_rows(), rows_per_matrix = src.ne[1];
  const size_t src_row = row_size(src.type, n), dst_row = row_size(to, n);
  Error first_error("");
  bool failed = false;
#pragma omp parallel num_threads(threads)
  {
    std::vector<float> scratch(static_cast<size_t>(n));
#pragma omp for schedule(dynamic, 16)
    for (int64_t r = 0; r < rows; ++r) {
      try {
        from_t.to_float(src.data + size_t(r) * src_row, scratch.data(), n);
        const float* w = importance ? importance + (r / rows_per_matrix % src.ne[2]) * n : nullptr;
        quantize_row(scratch.data(), dst + size_t(r) * dst_row, n, w);
      } catch (const Error& e) {
#pragma omp critical
        if (!failed) failed = true, first_error = e;
      }
    }
  }
  if (failed) throw Error("tensor '" + src.name + "': " + first_error.what());
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::string shape_of(const GgufTensorInfo& t) {
  std::string s = "[";
  for (uint32_t d = 0; d < std::max<uint32_t>(t.n_dims, 1); ++d) s += (d ? ", " : "") + std::to_string(t.ne[d]);
  return s + "]";
}

struct PlanItem {
  const GgufTensorInfo* t;
  QType to;
  const std::vector<float>* importance;  // null when none applies
};

int quantize(QuantizeOptions o) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!o.dry_run && fs::exists(o.out, ec) && fs::equivalent(o.in, o.out, ec))
    throw Error("OUT is the same file as IN ('" + o.out + "'): write to a new file");
  const GgufFile in = GgufFile::open(o.in);
  const int threads = o.threads > 0 ? o.threads : omp_get_num_procs();
  Imatrix imatrix;
  if (!o.imatrix.empty()) {
    imatrix = load_imatrix(o.imatrix);
    o.mix.has_imatrix = true;
  }

  // Written in llama.cpp's order (non-block tensors, then blk.0, blk.1, ..., by name within each).
  std::vector<MixTensor> all;
  for (const GgufTensorInfo& t : in.tensors()) all.push_back({t.name, t.ne, int(t.n_dims), t.type});
  std::vector<const GgufTensorInfo*> order;
  std::vector<MixTensor> tensors;
  for (size_t i : llama_tensor_order(all)) {
    order.push_back(&in.tensors()[i]);
    tensors.push_back(all[i]);
  }
  std::vector<std::string> notes;
  if (!o.mix.tensor_types.empty() && (o.mix.pure || !type_traits(file_type_base(o.ftype)).is_quantized))
    notes.push_back(std::string("--tensor-type is ignored with ") + (o.mix.pure ? "--pure" : file_type_name(o.ftype)) +
                    " (no per-tensor rules apply, as in llama.cpp)");
  std::vector<std::optional<QType>> types;
  if (o.fit) {
    const FitPlan fit = plan_fit(in, order, o.imatrix.empty() ? nullptr : &imatrix.entries, {*o.fit, o.n_ctx, threads});
    types = fit.types;
    o.ftype = fit.ftype;
  } else {
    types = plan_mix(o.ftype, mix_model(in), tensors, o.mix, &notes);
  }

  std::vector<PlanItem> plan;
  uint64_t out_bytes = 0, in_bytes = 0, convert_bytes = 0;
  int64_t n_params = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    const GgufTensorInfo& t = *order[i];
    const QType to = types[i].value_or(t.type);
    if (to != t.type && type_traits(t.type).is_quantized && !o.allow_requantize)
      throw Error("'" + o.in + "' is already quantized (tensor '" + t.name + "' is " + type_name(t.type) +
                  "); pass --allow-requantize to convert it anyway (quality drops with each requantization)");
    const std::vector<float>* importance = nullptr;
    if (types[i]) {
      if (auto it = imatrix.entries.find(t.name); it != imatrix.entries.end()) {
        if (int64_t(it->second.size()) != t.ne[0] * t.ne[2])
          throw Error("imatrix '" + o.imatrix + "': '" + t.name + "' has " + std::to_string(it->second.size()) +
                      " values, the tensor needs " + std::to_string(t.ne[0] * t.ne[2]));
        importance = &it->second;
      }
    }
    // llama.cpp refuses Q2_K_S without an imatrix (it is tuned for one), except for token_embd.
    if (o.ftype == FileType::kQ2_K_S && to == QType::Q2_K && !importance && t.name != "token_embd.weight")
      throw Error("Q2_K_S needs an importance matrix for '" + t.name + "' (pass --imatrix FILE, or use Q2_K)");
    plan.push_back({&t, to, importance});
    in_bytes += t.nbytes;
    out_bytes += row_size(to, t.ne[0]) * uint64_t(t.n_rows());
    if (to != t.type) convert_bytes += t.nbytes;
    n_params += t.n_elements();
  }
  for (const std::string& note : notes) std::fprintf(stderr, "kq quantize: %s\n", note.c_str());
  const double bpw = n_params ? 8.0 * double(out_bytes) / double(n_params) : 0.0;

  if (o.dry_run) {
    std::printf("%-40s %-7s %-24s %12s\n", "tensor", "type", "shape", "bytes");
    for (const PlanItem& p : plan) {
      std::printf("%-40s %-7s %-24s %12llu\n", p.t->name.c_str(), type_name(p.to), shape_of(*p.t).c_str(),
                  (unsigned long long)(row_size(p.to, p.t->ne[0]) * uint64_t(p.t->n_rows())));
    }
    std::printf("total: %zu tensors, %.2f MiB (%llu bytes), %.3f bpw, file type %s\n", plan.size(),
                double(out_bytes) / 1048576.0, (unsigned long long)out_bytes, bpw, file_type_name(o.ftype));
    return 0;
  }

  GgufWriter w;
  w.copy_metadata(in);
  // As llama.cpp does: both keys move to the end, quantization_version first.
  w.remove("general.file_type");
  w.remove("general.quantization_version");
  w.set("general.quantization_version", GgufValue::u32(2));
  w.set("general.file_type", GgufValue::u32(static_cast<uint32_t>(o.ftype)));
  for (const char* key : {"split.no", "split.count", "split.tensors.count"}) w.remove(key);  // one file out
  if (!o.imatrix.empty()) {
    // What llama-quantize records about the imatrix it used.
    w.set("quantize.imatrix.file", GgufValue::string(o.imatrix));
    w.set("quantize.imatrix.entries_count", GgufValue::i32(int32_t(imatrix.entries.size())));
    if (!imatrix.dataset.empty()) w.set("quantize.imatrix.dataset", GgufValue::string(imatrix.dataset));
    if (imatrix.chunks >= 0) w.set("quantize.imatrix.chunks_count", GgufValue::i32(imatrix.chunks));
  }

  const bool tty = isatty(STDERR_FILENO);
  const auto start = std::chrono::steady_clock::now();
  size_t done = 0;
  uint64_t bytes_done = 0;
  for (size_t index = 0; index < plan.size(); ++index) {
    const GgufTensorInfo& t = *plan[index].t;
    std::vector<int64_t> ne(t.ne.begin(), t.ne.begin() + std::max<uint32_t>(t.n_dims, 1));
    if (plan[index].to == t.type) {
      w.add_tensor(t.name, t.type, ne, t.data);  // copied byte for byte
      continue;
    }
    w.add_tensor(t.name, plan[index].to, ne, [&, index](uint8_t* dst, size_t) {
      const PlanItem& p = plan[index];
      convert_rows(*p.t, p.to, dst, threads, p.importance ? p.importance->data() : nullptr, o.llama_exact);
      ++done;
      bytes_done += p.t->nbytes;
      const double secs = seconds_since(start);
      const double rate = secs > 0 ? double(bytes_done) / secs : 0.0;
      if (tty) {
        // One line, redrawn: where we are, how fast, how long to go.
        const double eta = rate > 0 ? double(convert_bytes - bytes_done) / rate : 0.0;
        std::fprintf(stderr, "\r[%4zu/%4zu] %-32s %-6s -> %-6s %8.1f MB/s  ETA %s\x1b[K", index + 1, plan.size(),
                     p.t->name.c_str(), type_name(p.t->type), type_name(p.to), rate / 1e6,
                     minutes_seconds(eta).c_str());
      } else {
        std::fprintf(stderr, "[%4zu/%4zu] %-36s %-6s -> %-6s %8.1f MB/s\n", index + 1, plan.size(),
                     p.t->name.c_str(), type_name(p.t->type), type_name(p.to), rate / 1e6);
      }
    });
  }
  w.write(o.out);
  if (tty && done) std::fputc('\n', stderr);
  std::fprintf(stderr, "kq quantize: %s -> %s (%s): %.2f MiB -> %.2f MiB, %.3f bpw, %zu tensors converted, %.2f s\n",
               o.in.c_str(), o.out.c_str(), file_type_name(o.ftype), double(in_bytes) / 1048576.0,
               double(out_bytes) / 1048576.0, bpw, done, seconds_since(start));
  return 0;
}

}  // namespace

int cmd_quantize(const std::vector<std::string>& args) {
  return run_command("quantize", kQuantizeUsage, args, [&] { return quantize(parse_quantize_args(args)); });
}

}  // namespace kq::app
