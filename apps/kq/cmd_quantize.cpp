// `kq quantize`: rewrites a GGUF model with its 2-D weights converted to one block type.
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "apps/kq/args.h"
#include "apps/kq/commands.h"
#include "apps/kq/file_types.h"
#include "formats/gguf.h"

namespace kq::app {

namespace {

constexpr const char* kQuantizeUsage =
    "usage: kq quantize IN OUT TYPE [--pure] [--allow-requantize] [-t N]\n"
    "  TYPE                 F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K IQ4_NL IQ4_XS\n"
    "                       applied to every 2-D weight (norms, biases and other 1-D tensors are copied);\n"
    "                       a weight whose rows are not whole blocks of TYPE falls back as llama.cpp does\n"
    "                       (Q2_K/Q3_K/IQ4_XS -> IQ4_NL, Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, else F16)\n"
    "  --pure               one type for every weight (today every weight gets TYPE anyway: llama.cpp's\n"
    "                       mixes such as Q4_K_M are not implemented yet)\n"
    "  --allow-requantize   accept quantized input (dequantized, then quantized again)\n"
    "  -t, --threads N      threads (default: all cores)\n";

struct QuantizeOptions {
  std::string in, out;
  QType type = QType::F32;
  bool allow_requantize = false;
  int threads = 0;
};

QuantizeOptions parse_quantize_args(const std::vector<std::string>& args) {
  QuantizeOptions o;
  std::vector<std::string> positional;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--pure") {
      // Accepted for llama-quantize compatibility; see the usage text.
    } else if (a == "--allow-requantize") {
      o.allow_requantize = true;
    } else if (a == "-t" || a == "--threads") {
      o.threads = parse_int(a, flag_value(args, i));
      if (o.threads < 1) throw UsageError("option " + a + " needs a count >= 1");
    } else if (a.size() > 1 && a[0] == '-') {
      throw UsageError("unknown option '" + a + "'");
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() != 3) throw UsageError("expected IN OUT TYPE");
  o.in = positional[0];
  o.out = positional[1];
  const TypeTraits* t = find_type(positional[2]);
  if (!t) throw UsageError("unknown type '" + positional[2] + "'");
  if (t->activation_only) throw UsageError(std::string(t->name) + " is an activation-only type, not for weights");
  o.type = t->type;
  return o;
}

bool is_float_type(QType t) { return !type_traits(t).is_quantized; }

// Which tensors get quantized: weights with >= 2 dims, except norms and MoE routers (formats.md C.5).
bool is_quantizable(const GgufTensorInfo& t) {
  const std::string& n = t.name;
  const auto ends_with = [&](const char* s) {
    const size_t k = std::strlen(s);
    return n.size() >= k && n.compare(n.size() - k, k, s) == 0;
  };
  return t.n_dims >= 2 && ends_with("weight") && !ends_with("_norm.weight") && !ends_with("ffn_gate_inp.weight");
}

// Applies llama.cpp's fallback when a row is not a whole number of blocks of `want`.
QType type_for_row(QType want, int64_t ne0) {
  if (ne0 % type_traits(want).block_size == 0) return want;
  QType fallback = QType::F16;
  if (want == QType::Q2_K || want == QType::Q3_K || want == QType::IQ4_XS) fallback = QType::IQ4_NL;
  else if (want == QType::Q4_K) fallback = QType::Q5_0;
  else if (want == QType::Q5_K) fallback = QType::Q5_1;
  else if (want == QType::Q6_K) fallback = QType::Q8_0;
  if (ne0 % type_traits(fallback).block_size != 0) fallback = QType::F16;
  return fallback;
}

// Converts every row of `src` into `dst` (type `to`) through float32, rows split over threads.
void convert_rows(const GgufTensorInfo& src, QType to, uint8_t* dst, int threads) {
  const TypeTraits& from_t = type_traits(src.type);
  const TypeTraits& to_t = type_traits(to);
  const int64_t n = src.ne[0], rows = src.n_rows();
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
        to_t.from_float(scratch.data(), dst + size_t(r) * dst_row, n, nullptr);
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

int quantize(const QuantizeOptions& o) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(o.out, ec) && fs::equivalent(o.in, o.out, ec))
    throw Error("OUT is the same file as IN ('" + o.out + "'): write to a new file");
  const GgufFile in = GgufFile::open(o.in);
  const int threads = o.threads > 0 ? o.threads : omp_get_num_procs();

  GgufWriter w;
  w.copy_metadata(in);
  w.set("general.file_type", GgufValue::u32(*file_type_for(o.type)));
  w.set("general.quantization_version", GgufValue::u32(2));

  struct Plan {
    const GgufTensorInfo* t;
    QType to;
  };
  std::vector<Plan> plan;
  uint64_t out_bytes = 0, in_bytes = 0;
  int64_t n_params = 0;
  for (const GgufTensorInfo& t : in.tensors()) {
    QType to = t.type;
    if (is_quantizable(t)) {
      to = type_for_row(o.type, t.ne[0]);
      if (to != o.type)
        std::fprintf(stderr, "kq quantize: %s: rows of %lld are not whole %s blocks, using %s\n", t.name.c_str(),
                     (long long)t.ne[0], type_name(o.type), type_name(to));
    }
    if (to != t.type && !is_float_type(t.type) && !o.allow_requantize)
      throw Error("'" + o.in + "' is already quantized (tensor '" + t.name + "' is " + type_name(t.type) +
                  "); pass --allow-requantize to convert it anyway (quality drops with each requantization)");
    plan.push_back({&t, to});
    in_bytes += t.nbytes;
    out_bytes += row_size(to, t.ne[0]) * uint64_t(t.n_rows());
    n_params += t.n_elements();
  }

  const bool tty = isatty(STDERR_FILENO);
  const auto start = std::chrono::steady_clock::now();
  size_t done = 0;
  uint64_t bytes_done = 0;
  for (const Plan& p : plan) {
    const GgufTensorInfo& t = *p.t;
    std::vector<int64_t> ne(t.ne.begin(), t.ne.begin() + std::max<uint32_t>(t.n_dims, 1));
    if (p.to == t.type) {
      w.add_tensor(t.name, t.type, ne, t.data);  // copied byte for byte
      continue;
    }
    const size_t index = &p - plan.data();
    w.add_tensor(t.name, p.to, ne, [&, index](uint8_t* dst, size_t) {
      const GgufTensorInfo& src = *plan[index].t;
      convert_rows(src, plan[index].to, dst, threads);
      ++done;
      bytes_done += src.nbytes;
      const double secs = seconds_since(start);
      std::fprintf(stderr, "%s[%4zu/%4zu] %-36s %-6s -> %-6s %8.1f MB/s%s", tty ? "\r" : "", index + 1, plan.size(),
                   src.name.c_str(), type_name(src.type), type_name(plan[index].to),
                   secs > 0 ? double(bytes_done) / 1e6 / secs : 0.0, tty ? "\x1b[K" : "\n");
    });
  }
  w.write(o.out);
  if (tty && done) std::fputc('\n', stderr);
  std::fprintf(stderr, "kq quantize: %s -> %s: %.2f MiB -> %.2f MiB, %.3f bpw, %zu tensors converted, %.2f s\n",
               o.in.c_str(), o.out.c_str(), double(in_bytes) / 1048576.0, double(out_bytes) / 1048576.0,
               n_params ? 8.0 * double(out_bytes) / double(n_params) : 0.0, done, seconds_since(start));
  return 0;
}

}  // namespace

int cmd_quantize(const std::vector<std::string>& args) {
  return run_command("quantize", kQuantizeUsage, args, [&] { return quantize(parse_quantize_args(args)); });
}

}  // namespace kq::app
