// `kq quantize --fit SIZE`: measures each weight's error per candidate type, solves the knapsack,
// prints the chosen mix.
#include "apps/kq/quantize_fit.h"

#include <algorithm>
#include <cstdio>

#include "common/error.h"
#include "quant/budget_mix.h"
#include "runtime/memory_plan.h"
#include "runtime/model_config.h"

namespace kq::app {

namespace {

// Values measured per weight and candidate: all of a small weight, evenly spaced rows of a big one.
constexpr int64_t kMaxMeasuredValues = int64_t(1) << 18;

// Room for the keys quantize adds or changes (file type, quantization version, imatrix facts).
constexpr uint64_t kMetadataMargin = 1024;

std::string mib(uint64_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f MiB (%llu bytes)", double(bytes) / 1048576.0, (unsigned long long)bytes);
  return buf;
}

// "metadata X + KV cache (F16) Y + scratch Z + runtime W", for the plan and the too-small error.
std::string parts(const NonWeightBytes& nw) {
  return "metadata " + mib(nw.metadata) + " + KV cache (F16) " + mib(nw.kv_cache) + " + scratch " + mib(nw.scratch) +
         " + runtime " + mib(nw.runtime);
}

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

// The predicted loss of one candidate: its error relative to the weight's energy (the noise-to-signal
// ratio of the matmul's output when the importances are the inputs' mean squares), times how far
// that noise reaches the logits. The residual stream sums the token embedding and 2·n_layer block
// outputs; counting those as equal shares, a block weight's relative noise reaches the final hidden
// state diluted about (2·n_layer + 1)-fold, while the output projection's (or the tied embedding's)
// lands on the logits undiluted, so its relative error counts 2·n_layer + 1 times. Measured on
// SmolLM2 at the Q4_K_M budget (mean KLD, tinytext, -c 128): 0.072 without that factor, 0.029 with.
double predicted_loss(bool is_output, int n_layer, const QuantError& e) {
  if (!(e.energy > 0)) return 0;
  const double reach = is_output ? 2.0 * n_layer + 1 : 1.0;
  return reach * e.error / e.energy;
}

// The file type whose base type holds the most weight bytes (recorded as general.file_type).
FileType dominant_file_type(const std::map<QType, uint64_t>& bytes_by_type) {
  QType top = QType::Q4_K;
  uint64_t most = 0;
  for (const auto& [t, b] : bytes_by_type)
    if (type_traits(t).is_quantized && b > most) most = b, top = t;
  static constexpr FileType kPreferred[] = {FileType::kQ2_K,  FileType::kQ3_K_M, FileType::kQ4_K_M,
                                            FileType::kQ5_K_M, FileType::kQ6_K,  FileType::kQ8_0,
                                            FileType::kIQ4_XS, FileType::kIQ4_NL, FileType::kQ5_0,
                                            FileType::kQ5_1,  FileType::kQ4_0,   FileType::kQ4_1};
  for (FileType ft : kPreferred)
    if (file_type_base(ft) == top) return ft;
  return FileType::kQ4_K_M;
}

}  // namespace

NonWeightBytes non_weight_bytes(const GgufFile& model, int n_ctx) {
  // The same plan `kq fit` and Session use, so --fit and `kq fit` agree on everything but the weights.
  PlanOptions options;
  options.n_ctx = n_ctx;
  const MemoryPlan p = plan_memory(ModelHeader::from_gguf(model), options);
  NonWeightBytes b;
  b.metadata = p.file_header + kMetadataMargin;
  b.kv_cache = p.kv_cache;
  b.scratch = p.scratch;
  b.runtime = p.output + p.tokenizer + p.overhead;
  return b;
}

FitPlan plan_fit(const GgufFile& in, const std::vector<const GgufTensorInfo*>& order,
                 const std::map<std::string, std::vector<float>>* imatrix, const FitOptions& options) {
  FitPlan plan;
  const ModelConfig config = ModelConfig::from_gguf(in);
  plan.n_ctx = options.n_ctx > 0 ? options.n_ctx : std::min(config.n_ctx_train, 4096);
  plan.non_weight = non_weight_bytes(in, plan.n_ctx);
  const NonWeightBytes& nw = plan.non_weight;

  // Which tensors are weights to quantize: llama.cpp's rule (norms, biases and 1-D tensors are copied).
  std::vector<MixTensor> mix_tensors;
  for (const GgufTensorInfo* t : order) mix_tensors.push_back({t->name, t->ne, int(t->n_dims), t->type});
  MixOptions pure;
  pure.pure = true;
  const std::vector<std::optional<QType>> quantizable = plan_mix(FileType::kQ4_K_S, MixModel{}, mix_tensors, pure);
  const bool has_output = in.find_tensor("output.weight") != nullptr;
  const uint64_t alignment = in.alignment();

  std::vector<size_t> weight_index;  // indices into order of the weights the knapsack chooses for
  std::vector<std::vector<BudgetCandidate>> items;
  uint64_t fixed_bytes = 0;  // tensors copied unchanged
  for (size_t i = 0; i < order.size(); ++i) {
    const GgufTensorInfo& t = *order[i];
    if (!quantizable[i]) {
      fixed_bytes += align_up(t.nbytes, alignment);
      continue;
    }
    const int64_t n = t.ne[0];
    const std::vector<float>* imp = nullptr;
    if (imatrix) {
      if (auto it = imatrix->find(t.name); it != imatrix->end()) {
        if (int64_t(it->second.size()) != n * t.ne[2])
          throw Error("imatrix: '" + t.name + "' has " + std::to_string(it->second.size()) +
                      " values, the tensor needs " + std::to_string(n * t.ne[2]));
        imp = &it->second;
      }
    }
    const TypeTraits& from = type_traits(t.type);
    const size_t src_row = row_size(t.type, n);
    const RowReader read = [&](int64_t r, float* out) { from.to_float(t.data + size_t(r) * src_row, out, n); };
    RowImportance importance;
    if (imp) importance = [&, imp](int64_t r) { return imp->data() + (r / t.ne[1] % t.ne[2]) * n; };
    const std::vector<QType> types = budget_ladder(n);
    const std::vector<QuantError> errors =
        measure_quant_errors(read, importance, n, sample_rows(t.n_rows(), n, kMaxMeasuredValues), types,
                             options.threads);
    const bool is_output = t.name == "output.weight" || (!has_output && t.name == "token_embd.weight");
    std::vector<BudgetCandidate> cands;
    for (size_t k = 0; k < types.size(); ++k)
      cands.push_back({types[k], align_up(row_size(types[k], n) * uint64_t(t.n_rows()), alignment),
                       predicted_loss(is_output, config.n_layer, errors[k])});
    items.push_back(std::move(cands));
    weight_index.push_back(i);
  }

  const uint64_t overhead = nw.total() + fixed_bytes;
  uint64_t smallest = overhead;
  for (const auto& cands : items) {
    uint64_t m = cands.front().bytes;
    for (const BudgetCandidate& c : cands) m = std::min(m, c.bytes);
    smallest += m;
  }
  const std::optional<std::vector<size_t>> pick =
      options.budget >= overhead ? solve_budget(items, options.budget - overhead) : std::nullopt;
  if (!pick)
    throw Error("--fit " + mib(options.budget) + " is too small: the smallest mix needs " + mib(smallest) +
                " with -c " + std::to_string(plan.n_ctx) + ": tensors " + mib(smallest - nw.total()) + " + " +
                parts(nw));

  plan.types.assign(order.size(), std::nullopt);
  std::map<QType, uint64_t> bytes_by_type;
  std::map<QType, int> count_by_type;
  plan.weight_bytes = fixed_bytes;
  for (size_t k = 0; k < items.size(); ++k) {
    const BudgetCandidate& c = items[k][(*pick)[k]];
    plan.types[weight_index[k]] = c.type;
    bytes_by_type[c.type] += c.bytes;
    ++count_by_type[c.type];
    plan.weight_bytes += c.bytes;
  }
  plan.ftype = dominant_file_type(bytes_by_type);

  std::printf("fit: chosen mix (%zu weights; %s of tensors copied unchanged)\n", items.size(),
              mib(fixed_bytes).c_str());
  for (const auto& [t, b] : bytes_by_type)
    std::printf("  %-7s %4d tensors, %s\n", type_name(t), count_by_type[t], mib(b).c_str());
  std::printf("fit: planned total %s of budget %s (-c %d)\n", mib(plan.weight_bytes + nw.total()).c_str(),
              mib(options.budget).c_str(), plan.n_ctx);
  std::printf("fit: = tensors %s + %s\n", mib(plan.weight_bytes).c_str(), parts(nw).c_str());
  return plan;
}

}  // namespace kq::app
