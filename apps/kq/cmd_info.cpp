// `kq info`: what a GGUF model is — architecture, hyperparameters, tokenizer, tensor types and sizes.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "apps/kq/args.h"
#include "apps/kq/commands.h"
#include "apps/kq/cpu_report.h"
#include "quant/mix.h"
#include "common/json.h"
#include "formats/gguf.h"

namespace kq::app {

namespace {

constexpr const char* kInfoUsage =
    "usage: kq info MODEL [--json] [--tensors]\n"
    "       kq info --cpu [--json]\n"
    "  --cpu       CPU features, the kernel level in use (KQ_ISA=scalar|avx2|avx512|neon forces one)\n"
    "              and the kernels chosen for each type\n"
    "  --json      print one JSON object instead of the table\n"
    "  --tensors   also list every tensor (name, type, shape, bytes)\n";

// Hyperparameter keys shown by info, without the "{arch}." prefix.
constexpr const char* kHparamKeys[] = {
    "context_length",         "embedding_length",          "block_count",
    "feed_forward_length",    "attention.head_count",      "attention.head_count_kv",
    "attention.key_length",   "attention.value_length",    "attention.layer_norm_rms_epsilon",
    "rope.dimension_count",   "rope.freq_base",            "rope.scaling.type",
    "rope.scaling.factor",    "vocab_size",                "expert_count",
    "expert_used_count",
};

struct TypeUsage {
  int count = 0;
  uint64_t bytes = 0;
  int64_t params = 0;
};

// Reads a float value; F32 is rounded to its shortest decimal so 1e-5 prints as 1e-05, not 9.99999974e-06.
double float_value(const GgufValue& v) {
  if (v.type() != GgufType::F32) return v.as_float();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v.as_float());
  for (int digits = 1; digits <= 9; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v.as_float());
    if (float(std::strtod(buf, nullptr)) == float(v.as_float())) break;
  }
  return std::strtod(buf, nullptr);
}

// Renders a scalar or per-layer array hyperparameter: arrays show their one value or "varies a..b".
json::Value hparam_json(const GgufValue& v) {
  if (v.type() == GgufType::STRING) return v.as_string();
  if (!v.is_array()) return v.is_integer() ? json::Value(v.as_int()) : json::Value(float_value(v));
  if (v.elem_type() == GgufType::STRING || v.size() == 0) return v.to_display();
  const bool ints = v.elem_type() != GgufType::F32 && v.elem_type() != GgufType::F64;
  double lo = v.float_at(0), hi = lo;
  for (size_t i = 1; i < v.size(); ++i) {
    lo = std::min(lo, v.float_at(i));
    hi = std::max(hi, v.float_at(i));
  }
  if (lo == hi) return ints ? json::Value(v.int_at(0)) : json::Value(lo);
  json::Value arr = json::Value::array();
  for (size_t i = 0; i < v.size(); ++i) arr.push_back(ints ? json::Value(v.int_at(i)) : json::Value(v.float_at(i)));
  return arr;
}

std::string display(const json::Value& v) {
  if (v.kind() == json::Value::Kind::String) return v.as_string();
  if (v.is_array()) {
    double lo = v[0].as_number(), hi = lo;
    for (const json::Value& x : v.items()) lo = std::min(lo, x.as_number()), hi = std::max(hi, x.as_number());
    return "varies per layer " + json::dump(json::Value(lo)) + ".." + json::dump(json::Value(hi));
  }
  return json::dump(v);
}

std::string human_count(double n) {
  char buf[32];
  if (n >= 1e9) std::snprintf(buf, sizeof buf, "%.2f B", n / 1e9);
  else if (n >= 1e6) std::snprintf(buf, sizeof buf, "%.2f M", n / 1e6);
  else if (n >= 1e3) std::snprintf(buf, sizeof buf, "%.2f K", n / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", n);
  return buf;
}

std::string human_bytes(double b) {
  char buf[32];
  if (b >= 1024.0 * 1024 * 1024) std::snprintf(buf, sizeof buf, "%.2f GiB", b / (1024.0 * 1024 * 1024));
  else if (b >= 1024.0 * 1024) std::snprintf(buf, sizeof buf, "%.2f MiB", b / (1024.0 * 1024));
  else if (b >= 1024.0) std::snprintf(buf, sizeof buf, "%.2f KiB", b / 1024.0);
  else std::snprintf(buf, sizeof buf, "%.0f B", b);
  return buf;
}

std::string shape_string(const GgufTensorInfo& t) {
  std::string s = "[";
  for (uint32_t d = 0; d < std::max<uint32_t>(t.n_dims, 1); ++d) s += (d ? ", " : "") + std::to_string(t.ne[d]);
  return s + "]";
}

// Gathers everything info prints into one JSON object (the table is rendered from it too).
json::Value describe(const GgufFile& f) {
  json::Value out = json::Value::object();
  const std::string arch = f.get_string("general.architecture", "");
  out.set("file", f.path());
  out.set("gguf_version", int64_t(f.version()));
  out.set("alignment", int64_t(f.alignment()));
  out.set("architecture", arch.empty() ? json::Value() : json::Value(arch));
  if (const GgufValue* name = f.find("general.name"); name && name->type() == GgufType::STRING)
    out.set("name", name->as_string());
  if (const GgufValue* ft = f.find("general.file_type"); ft && ft->is_integer())
    out.set("file_type", file_type_label(ft->as_int()));

  json::Value hp = json::Value::object();
  for (const char* key : kHparamKeys)
    if (const GgufValue* v = f.find(arch + "." + key)) hp.set(key, hparam_json(*v));
  // Head dim is rarely stored: llama.cpp derives it as embedding_length / head_count.
  const json::Value* embd = hp.find("embedding_length");
  const json::Value* heads = hp.find("attention.head_count");
  if (!hp.find("attention.key_length") && embd && heads && !heads->is_array() && heads->as_number() > 0)
    hp.set("head_dim", int64_t(embd->as_number() / heads->as_number()));
  out.set("hparams", hp);

  json::Value tok = json::Value::object();
  tok.set("model", f.get_string("tokenizer.ggml.model", ""));
  if (f.find("tokenizer.ggml.pre")) tok.set("pre", f.get_string("tokenizer.ggml.pre", ""));
  if (const GgufValue* tokens = f.find("tokenizer.ggml.tokens"); tokens && tokens->is_array())
    tok.set("vocab_size", uint64_t(tokens->size()));
  for (const char* id : {"bos_token_id", "eos_token_id", "eot_token_id", "padding_token_id"})
    if (const GgufValue* v = f.find(std::string("tokenizer.ggml.") + id); v && v->is_integer())
      tok.set(id, v->as_int());
  tok.set("chat_template", f.find("tokenizer.chat_template") != nullptr);
  out.set("tokenizer", tok);

  std::map<std::string, TypeUsage> usage;
  int64_t n_params = 0;
  uint64_t tensor_bytes = 0;
  for (const GgufTensorInfo& t : f.tensors()) {
    TypeUsage& u = usage[type_name(t.type)];
    ++u.count;
    u.bytes += t.nbytes;
    u.params += t.n_elements();
    n_params += t.n_elements();
    tensor_bytes += t.nbytes;
  }
  json::Value types = json::Value::array();
  for (const auto& [name, u] : usage) {
    json::Value row = json::Value::object();
    row.set("type", name);
    row.set("count", u.count);
    row.set("bytes", u.bytes);
    row.set("params", u.params);
    types.push_back(row);
  }
  out.set("tensor_count", uint64_t(f.tensors().size()));
  out.set("tensor_types", types);
  out.set("n_params", n_params);
  out.set("tensor_bytes", tensor_bytes);
  out.set("file_size", f.file_size());
  out.set("bpw", n_params ? 8.0 * double(tensor_bytes) / double(n_params) : 0.0);

  json::Value meta = json::Value::object();
  for (const auto& [key, v] : f.metadata()) {
    if (v.is_array() || v.type() == GgufType::STRING) {
      if (v.is_array() || v.as_string().size() > 200) {
        meta.set(key, v.to_display());
        continue;
      }
      meta.set(key, v.as_string());
    } else if (v.type() == GgufType::BOOL) {
      meta.set(key, v.as_bool());
    } else {
      meta.set(key, v.is_integer() ? json::Value(v.as_int()) : json::Value(float_value(v)));
    }
  }
  out.set("metadata", meta);
  return out;
}

void print_table(const json::Value& d, const GgufFile& f, bool tensors) {
  const auto row = [](const char* key, const std::string& value) { std::printf("%-34s %s\n", key, value.c_str()); };
  row("file", d.at("file").as_string());
  char gguf[64];
  std::snprintf(gguf, sizeof gguf, "v%lld, alignment %lld", (long long)d.at("gguf_version").as_int(),
                (long long)d.at("alignment").as_int());
  row("gguf", gguf);
  row("architecture", d.at("architecture").is_null() ? "(none)" : d.at("architecture").as_string());
  if (const json::Value* n = d.find("name")) row("name", n->as_string());
  if (const json::Value* ft = d.find("file_type")) row("file type", ft->as_string());
  for (const auto& [key, v] : d.at("hparams").members()) row(key.c_str(), display(v));
  const json::Value& tok = d.at("tokenizer");
  std::string tk = tok.at("model").as_string().empty() ? "(none)" : tok.at("model").as_string();
  if (const json::Value* pre = tok.find("pre")) tk += ", pre " + pre->as_string();
  if (const json::Value* n = tok.find("vocab_size")) tk += ", " + std::to_string(n->as_int()) + " tokens";
  row("tokenizer", tk);
  std::string ids;
  for (const char* id : {"bos_token_id", "eos_token_id", "eot_token_id"})
    if (const json::Value* v = tok.find(id)) {
      if (!ids.empty()) ids.append(", ");
      ids.append(id).append(" ").append(json::dump(*v));
    }
  if (!ids.empty()) row("special tokens", ids);
  row("chat template", tok.at("chat_template").as_bool() ? "yes" : "no");
  row("parameters", human_count(d.at("n_params").as_number()));
  row("tensors", std::to_string(d.at("tensor_count").as_int()) + ", " +
                     human_bytes(d.at("tensor_bytes").as_number()));
  row("file size", human_bytes(d.at("file_size").as_number()) + " (" + json::dump(d.at("file_size")) + " bytes)");
  char bpw[32];
  std::snprintf(bpw, sizeof bpw, "%.3f", d.at("bpw").as_number());
  row("bits per weight", bpw);
  std::printf("\n%-8s %8s %14s %12s\n", "type", "tensors", "params", "bytes");
  for (const json::Value& t : d.at("tensor_types").items())
    std::printf("%-8s %8lld %14s %12s\n", t.at("type").as_string().c_str(), (long long)t.at("count").as_int(),
                human_count(t.at("params").as_number()).c_str(), human_bytes(t.at("bytes").as_number()).c_str());
  if (tensors) {
    std::printf("\n%-40s %-7s %-24s %12s\n", "tensor", "type", "shape", "bytes");
    for (const GgufTensorInfo& t : f.tensors())
      std::printf("%-40s %-7s %-24s %12llu\n", t.name.c_str(), type_name(t.type), shape_string(t).c_str(),
                  (unsigned long long)t.nbytes);
  }
}

}  // namespace

int cmd_info(const std::vector<std::string>& args) {
  return run_command("info", kInfoUsage, args, [&] {
    std::string path;
    bool as_json = false, tensors = false, cpu = false;
    for (size_t i = 1; i < args.size(); ++i) {
      if (args[i] == "--json") as_json = true;
      else if (args[i] == "--cpu") cpu = true;
      else if (args[i] == "--tensors") tensors = true;
      else if (!args[i].empty() && args[i][0] == '-') throw UsageError("unknown option '" + args[i] + "'");
      else if (path.empty()) path = args[i];
      else throw UsageError("unexpected argument '" + args[i] + "'");
    }
    if (cpu) {
      if (!path.empty() || tensors) throw UsageError("--cpu takes no MODEL and no --tensors");
      print_cpu_report(as_json);
      return 0;
    }
    if (path.empty()) throw UsageError("missing MODEL");
    const GgufFile f = GgufFile::open(path);
    json::Value d = describe(f);
    if (as_json) {
      if (tensors) {
        json::Value list = json::Value::array();
        for (const GgufTensorInfo& t : f.tensors()) {
          json::Value row = json::Value::object();
          row.set("name", t.name);
          row.set("type", type_name(t.type));
          json::Value ne = json::Value::array();
          for (uint32_t k = 0; k < t.n_dims; ++k) ne.push_back(t.ne[k]);
          row.set("ne", ne);
          row.set("bytes", t.nbytes);
          list.push_back(row);
        }
        d.set("tensors", list);
      }
      std::puts(json::dump(d, 2).c_str());
    } else {
      print_table(d, f, tensors);
    }
    return 0;
  });
}

}  // namespace kq::app
