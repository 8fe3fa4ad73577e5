// `kq info --cpu`: what the CPU has, which kernel table is in use (KQ_ISA or the best level), and per type
// which dot product, decode and prefill kernels it runs and which activation converter it uses.
#include "apps/kq/cpu_report.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/json.h"
#include "quant/cpu_features.h"
#include "quant/kernels.h"
#include "quant/registry.h"
#include "runtime/matmul_onednn.h"

namespace kq::app {

void print_cpu_report(bool as_json) {
  const CpuFeatures& cpu = cpu_features();
  const KernelTable& table = kernels();
  const char* forced = std::getenv("KQ_ISA");
  std::string levels;
  for (Isa i : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kNeon})
    if (kernel_table(i)) levels += std::string(levels.empty() ? "" : " ") + isa_name(i);

  json::Value d = json::Value::object();
  d.set("cpu", cpu.model);
  d.set("features", cpu.summary());
  d.set("levels", levels);
  d.set("best", isa_name(cpu.best()));
  d.set("selected", isa_name(table.isa));
  d.set("forced_by_env", forced && *forced ? json::Value(std::string(forced)) : json::Value());
  json::Value types = json::Value::array();
  for (size_t i = 0; i < kTypeCount; ++i) {
    const TypeTraits& tt = kTypeTraits[i];
    if (tt.activation_only) continue;
    const TypeKernels& k = table[tt.type];
    const uint32_t act = static_cast<uint32_t>(tt.vec_dot_type);
    json::Value row = json::Value::object();
    row.set("type", tt.name);
    row.set("activation", type_name(tt.vec_dot_type));
    row.set("convert", table.convert_name[act] ? table.convert_name[act] : "scalar");
    row.set("dot", k.name);
    row.set("decode", k.mul_rows ? k.name : (std::string(k.name) + " (row loop)"));
    // oneDNN takes float prefill from its threshold up; below it the kernel table's GEMM or decode kernel.
    std::string prefill = k.gemm ? std::string(k.gemm_name) + " (from " + std::to_string(k.gemm_min_tokens) + " tokens)"
                                 : std::string("decode kernel");
    const OnednnPrefill dnnl = onednn_prefill(tt.type);
    if (dnnl.name)
      prefill = std::string(dnnl.name) + " [" + onednn_isa() + "] (from " + std::to_string(dnnl.min_tokens) +
                " tokens), below: " + prefill;
    row.set("prefill", prefill);
    types.push_back(row);
  }
  d.set("types", types);

  if (as_json) {
    std::puts(json::dump(d, 2).c_str());
    return;
  }
  std::printf("cpu        %s\n", cpu.model.c_str());
  std::printf("features   %s\n", cpu.summary().c_str());
  std::printf("levels     %s (best: %s)\n", levels.c_str(), isa_name(cpu.best()));
  std::printf("selected   %s%s\n", isa_name(table.isa),
              forced && *forced ? " (KQ_ISA)" : " (best available; KQ_ISA=scalar|avx2|avx512|neon forces a level)");
  std::printf("\n%-8s %-10s %-14s %-22s %-22s %s\n", "type", "activation", "convert", "dot", "decode", "prefill");
  for (size_t i = 0; i < types.size(); ++i) {
    const json::Value& r = types[i];
    std::printf("%-8s %-10s %-14s %-22s %-22s %s\n", r.at("type").as_string().c_str(), r.at("activation").as_string().c_str(),
                r.at("convert").as_string().c_str(), r.at("dot").as_string().c_str(), r.at("decode").as_string().c_str(),
                r.at("prefill").as_string().c_str());
  }
}

}  // namespace kq::app
