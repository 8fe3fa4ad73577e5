// `kq fit`: will a model fit in memory at a context length, how large a context fits, and how fast
// it should decode; from the GGUF header alone or from a synthetic shape.
#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "apps/kq/commands.h"
#include "apps/kq/generate.h"
#include "common/error.h"
#include "common/json.h"
#include "formats/gguf.h"
#include "runtime/membw.h"
#include "runtime/memory_budget.h"
#include "runtime/memory_plan.h"
#include "runtime/synthetic_model.h"

namespace kq::app {

namespace {

constexpr const char* kFitUsage =
    "usage: kq fit -m MODEL [options]\n"
    "       kq fit --shape SHAPE [--type TYPE] [options]\n"
    "Plans the memory of `kq run` from the model's header (no tensor data is read): weights, KV cache,\n"
    "scratch buffers, logits, tokenizer and fixed overhead; the verdict against the budget, the largest\n"
    "context that fits, and the decode speed the memory bandwidth allows.\n"
    "  -m, --model MODEL        GGUF model\n"
    "  --shape SHAPE            a synthetic shape instead (llama-1b, llama-3b, llama-7b, llama-8b, or a spec\n"
    "                           as kq bench --synthetic takes)\n"
    "  --type TYPE              file type of the --shape model, as kq quantize makes it (default Q4_K_M)\n"
    "  -c, --ctx-size N         context length (default: min(trained context, 4096))\n"
    "  -b, --batch-size N       tokens per forward pass (default 512)\n"
    "  -t, --threads N          threads (default: physical cores)\n"
    "  --cache-type T           KV cache type: f32, f16 (default) or q8_0\n"
    "  --tokens N               tokens the run processes (prompt + generated; default: a full context);\n"
    "                           only an untied embedding table depends on it: its rows page in as used\n"
    "  --ram SIZE               memory budget, e.g. 8G, 512M, 1.5GiB (default: MemAvailable, or the cgroup\n"
    "                           limit when lower, minus a 5% margin of at least 256 MiB)\n"
    "  --gpu-mem SIZE           plan which whole layers would fit in SIZE of GPU memory (a plan only: kq\n"
    "                           has no GPU backend built)\n"
    "  --bandwidth GB/S         memory read bandwidth for the speed estimate (default: a quick probe)\n"
    "  --json                   one JSON object; the grand total is total_bytes\n";

struct FitOptions {
  std::string model;
  std::optional<SyntheticShape> shape;
  std::string type_name = "Q4_K_M";
  bool have_type = false;
  PlanOptions plan;
  std::optional<uint64_t> ram, gpu_mem;
  int n_tokens = 0;      // tokens the run processes; 0 = a full context
  double bandwidth = 0;  // GB/s; 0 = measure
  bool json = false;
};

FitOptions parse_fit_args(const std::vector<std::string>& args) {
  FitOptions o;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (parse_session_flag(args, i, o.plan)) continue;
    if (a == "-m" || a == "--model") {
      o.model = flag_value(args, i);
    } else if (a == "--shape") {
      try {
        o.shape = parse_synthetic_shape(flag_value(args, i));
      } catch (const UsageError&) {
        throw;
      } catch (const Error& e) {
        throw UsageError(e.what());
      }
    } else if (a == "--type") {
      o.type_name = flag_value(args, i);
      o.have_type = true;
    } else if (a == "--tokens") {
      o.n_tokens = parse_int(a, flag_value(args, i));
      if (o.n_tokens < 1) throw UsageError("option --tokens needs a count >= 1");
    } else if (a == "--ram") {
      o.ram = parse_size(a, flag_value(args, i));
    } else if (a == "--gpu-mem") {
      o.gpu_mem = parse_size(a, flag_value(args, i));
    } else if (a == "--bandwidth") {
      o.bandwidth = parse_number(a, flag_value(args, i));
      if (!(o.bandwidth > 0)) throw UsageError("option --bandwidth needs a rate > 0 in GB/s");
    } else if (a == "--json") {
      o.json = true;
    } else {
      throw UsageError("unknown option '" + a + "'");
    }
  }
  if (!o.model.empty() && o.shape) throw UsageError("give either -m MODEL or --shape SHAPE, not both");
  if (o.model.empty() && !o.shape) throw UsageError("missing -m MODEL or --shape SHAPE");
  if (o.have_type && !o.shape) throw UsageError("--type applies to --shape only (a file has its own types)");
  if (!parse_file_type(o.type_name)) {
    std::string known;
    for (const FileType ft : all_file_types()) known += std::string(known.empty() ? "" : ", ") + file_type_name(ft);
    throw UsageError("unknown file type '" + o.type_name + "' (known: " + known + ")");
  }
  if (o.ram && *o.ram == 0) throw UsageError("option --ram needs a size > 0");
  return o;
}

std::string gib(uint64_t b) {
  char buf[32];
  if (b >= (uint64_t(1) << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", double(b) / double(1 << 30));
  else std::snprintf(buf, sizeof buf, "%.2f MiB", double(b) / double(1 << 20));
  return buf;
}

const char* cache_name(QType t) {
  return t == QType::F32 ? "f32" : t == QType::Q8_0 ? "q8_0" : "f16";
}

// The plan's components in print order.
std::vector<std::pair<const char*, uint64_t>> components(const MemoryPlan& p) {
  return {{"weights", p.weights}, {"embeddings", p.embeddings}, {"file_header", p.file_header},
          {"kv_cache", p.kv_cache}, {"scratch", p.scratch},       {"output", p.output},
          {"tokenizer", p.tokenizer}, {"overhead", p.overhead}};
}

const char* component_label(const std::string& key) {
  if (key == "weights") return "weights (tensor data)";
  if (key == "embeddings") return "token embeddings (used)";  // rows of an untied table, paged in per token
  if (key == "file_header") return "GGUF header (metadata)";
  if (key == "kv_cache") return "KV cache";
  if (key == "scratch") return "compute scratch";
  if (key == "output") return "logits + sampler";
  if (key == "tokenizer") return "tokenizer tables";
  return "fixed overhead";
}

// Whole layers, last first (the ones nearest the output), while their weights and KV fit in gpu_mem.
struct GpuPlan {
  int first_layer = 0;  // layers [first_layer, n_layer) are placed
  int n_layers = 0;
  uint64_t bytes = 0;
};

GpuPlan plan_gpu(const MemoryPlan& p, uint64_t gpu_mem) {
  GpuPlan g;
  g.first_layer = int(p.layers.size());
  for (int il = int(p.layers.size()) - 1; il >= 0; --il) {
    const uint64_t b = p.layers[size_t(il)].weight_bytes + p.layers[size_t(il)].kv_bytes;
    if (g.bytes + b > gpu_mem) break;
    g.bytes += b;
    g.first_layer = il;
    ++g.n_layers;
  }
  return g;
}

// The tensors of one placed layer, by their names without the "blk.N." prefix (every layer has the
// same set), so the GPU plan can say which tensors move.
std::vector<std::string> layer_tensor_names(const ModelHeader& header, int layer) {
  const std::string prefix = "blk." + std::to_string(layer) + ".";
  std::vector<std::string> names;
  for (const PlanTensor& t : header.tensors)
    if (t.name.rfind(prefix, 0) == 0) names.push_back(t.name.substr(prefix.size()));
  return names;
}

// The GPU plan as kq fit --json reports it.
json::Value gpu_json(const GpuPlan& gpu, uint64_t gpu_mem, const ModelHeader& header) {
  json::Value g = json::Value::object();
  g.set("plan_only", true);  // no GPU backend is built
  g.set("budget_bytes", gpu_mem);
  g.set("n_layers", gpu.n_layers);
  g.set("first_layer", gpu.first_layer);
  g.set("bytes", gpu.bytes);
  json::Value names = json::Value::array();
  if (gpu.n_layers > 0)
    for (const std::string& n : layer_tensor_names(header, gpu.first_layer)) names.push_back(n);
  g.set("layer_tensors", std::move(names));  // per placed layer, without the "blk.N." prefix
  return g;
}

// The GPU plan as kq fit prints it, after the memory plan.
void print_gpu_plan(const GpuPlan& gpu, uint64_t gpu_mem, const MemoryPlan& plan, const ModelHeader& header) {
  const int n_layer = header.config.n_layer;
  std::printf("\n  GPU plan for %s (a plan only: kq has no GPU backend built, nothing is offloaded):\n",
              gib(gpu_mem).c_str());
  if (gpu.n_layers == 0) {
    std::printf("    no whole layer fits (the smallest needs %s)\n",
                gib(n_layer > 0 ? plan.layers.back().weight_bytes + plan.layers.back().kv_bytes : 0).c_str());
    return;
  }
  std::printf("    %d of %d layers would fit: blk.%d .. blk.%d, %s of weights and KV cache\n", gpu.n_layers, n_layer,
              gpu.first_layer, n_layer - 1, gib(gpu.bytes).c_str());
  std::string names;
  for (const std::string& n : layer_tensor_names(header, gpu.first_layer)) names += (names.empty() ? "" : " ") + n;
  std::printf("    tensors of each of those layers: %s, and the layer's KV cache\n", names.c_str());
  std::printf("    in RAM: the other layers, token_embd, output_norm and output\n");
  std::printf("    RAM would then hold %s\n", gib(plan.total - gpu.bytes).c_str());
}

int fit(const FitOptions& o) {
  ModelHeader header;
  std::string what;
  if (o.shape) {
    header = synthetic_model_header(*o.shape, *parse_file_type(o.type_name));
    what = "synthetic " + o.shape->name + " " + file_type_name(*parse_file_type(o.type_name));
  } else {
    header = ModelHeader::from_gguf(GgufFile::open(o.model));
    what = o.model;
  }
  const MemoryPlan plan = plan_memory(header, o.plan, o.n_tokens);

  MemoryBudget system;
  if (!o.ram) system = memory_budget();
  const uint64_t budget = o.ram ? *o.ram : system.budget;
  const bool fits = plan.total <= budget;
  PlanOptions search = o.plan;
  search.n_threads = plan.n_threads;
  const int max_ctx = largest_fitting_context(header, search, budget, header.config.n_ctx_train);

  double bw = o.bandwidth;
  if (bw <= 0) bw = measure_read_bandwidth({plan.n_threads}, size_t(256) << 20, 2).front().gb_per_s;
  const double tg_empty = bw * 1e9 / double(plan.decode_bytes);
  const double tg_full = bw * 1e9 / double(plan.decode_bytes + plan.kv_cache);
  const int n_layer = header.config.n_layer;

  if (o.json) {
    json::Value c = json::Value::object();
    for (const auto& [key, bytes] : components(plan)) c.set(key, bytes);
    json::Value out = json::Value::object();
    out.set("model", what);
    out.set("n_ctx", plan.n_ctx);
    out.set("n_ctx_train", header.config.n_ctx_train);
    out.set("n_batch", plan.n_batch);
    out.set("n_threads", plan.n_threads);
    out.set("cache_type", cache_name(plan.cache_type));
    out.set("components", std::move(c));
    out.set("total_bytes", plan.total);
    out.set("budget_bytes", budget);
    out.set("budget_source", o.ram ? "--ram" : "system");
    if (!o.ram) {
      out.set("mem_available_bytes", system.mem_available);
      out.set("cgroup_limit_bytes", system.cgroup_limit ? json::Value(*system.cgroup_limit) : json::Value());
      out.set("margin_bytes", system.margin);
    }
    out.set("fits", fits);
    out.set("short_by_bytes", fits ? 0 : plan.total - budget);
    out.set("max_ctx", max_ctx);
    out.set("bandwidth_gb_s", bw);
    out.set("bandwidth_source", o.bandwidth > 0 ? "--bandwidth" : "measured");
    out.set("decode_bytes_per_token", plan.decode_bytes);
    out.set("predicted_tg_empty", tg_empty);
    out.set("predicted_tg_full", tg_full);
    if (o.gpu_mem) out.set("gpu", gpu_json(plan_gpu(plan, *o.gpu_mem), *o.gpu_mem, header));
    const std::string text = json::dump(out) + "\n";
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }

  std::printf("kq fit: %s\n", what.c_str());
  std::printf("  %s, %d layers, context %d (trained %d), batch %d, %d threads, KV cache %s\n\n",
              header.config.arch.c_str(), n_layer, plan.n_ctx, header.config.n_ctx_train, plan.n_batch,
              plan.n_threads, cache_name(plan.cache_type));
  std::printf("  %-24s %16s %12s\n", "component", "bytes", "");
  for (const auto& [key, bytes] : components(plan))
    if (std::string(key) != "embeddings" || plan.embedding_table > 0)  // a tied table is among the weights
      std::printf("  %-24s %16llu %12s\n", component_label(key), static_cast<unsigned long long>(bytes), gib(bytes).c_str());
  std::printf("  %-24s %16llu %12s\n\n", "total", static_cast<unsigned long long>(plan.total), gib(plan.total).c_str());
  if (o.ram) {
    std::printf("  budget: %s (--ram)\n", gib(budget).c_str());
  } else {
    std::printf("  budget: %s = available %s (MemAvailable %s%s) - margin %s\n", gib(budget).c_str(),
                gib(system.available).c_str(), gib(system.mem_available).c_str(),
                system.cgroup_limit ? (", cgroup " + system.cgroup + " limit " + gib(*system.cgroup_limit)).c_str()
                                    : "",
                gib(system.margin).c_str());
  }
  if (fits) std::printf("  verdict: fits, %s to spare\n", gib(budget - plan.total).c_str());
  else std::printf("  verdict: does not fit, short by %s\n", gib(plan.total - budget).c_str());
  if (max_ctx > 0)
    std::printf("  largest context that fits: %d%s\n", max_ctx,
                max_ctx == header.config.n_ctx_train ? " (the trained context)" : "");
  else
    std::printf("  largest context that fits: none (not even 1 token)\n");
  std::printf("  decode: %.1f t/s predicted at an empty cache, %.1f t/s at a full context of %d\n", tg_empty, tg_full,
              plan.n_ctx);
  std::printf("          (%.1f GB/s %s / %s read per token)\n", bw, o.bandwidth > 0 ? "given" : "measured",
              gib(plan.decode_bytes).c_str());
  if (o.gpu_mem) print_gpu_plan(plan_gpu(plan, *o.gpu_mem), *o.gpu_mem, plan, header);
  return 0;
}

}  // namespace

int cmd_fit(const std::vector<std::string>& args) {
  return run_command("fit", kFitUsage, args, [&] { return fit(parse_fit_args(args)); });
}

}  // namespace kq::app
