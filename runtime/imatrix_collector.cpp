// ImatrixCollector: maps each observed weight view back to its GGUF tensor and accumulates Σx² per column.
#include "runtime/imatrix_collector.h"

#include "formats/gguf.h"
#include "runtime/model.h"

namespace kq {

ImatrixCollector::ImatrixCollector(const Model& model, bool include_output) {
  for (const GgufTensorInfo& t : model.gguf().tensors()) {
    const bool block = t.name.rfind("blk.", 0) == 0;
    const bool output = include_output && t.name == "output.weight";
    // Matmul weights are the 2-D (or stacked 3-D) ones; norms and biases are 1-D.
    if ((block || output) && t.n_dims >= 2) by_data_[t.data] = Stats{t.name, std::vector<double>(size_t(t.ne[0])), 0};
  }
}

void ImatrixCollector::observe(const TensorView& w, const float* x, int n_tokens) {
  const auto it = by_data_.find(w.data);
  if (it == by_data_.end()) return;
  Stats& s = it->second;
  const size_t n = s.sum2.size();
  double* sum2 = s.sum2.data();
  for (int t = 0; t < n_tokens; ++t) {
    const float* row = x + size_t(t) * n;
    for (size_t k = 0; k < n; ++k) sum2[k] += double(row[k]) * double(row[k]);
  }
  s.count += n_tokens;
}

ImatrixSums ImatrixCollector::sums() const {
  ImatrixSums out;
  for (const auto& [data, s] : by_data_) {
    if (s.count == 0) continue;
    ImatrixSums::Entry& e = out.entries[s.name];
    e.in_sum2.assign(s.sum2.begin(), s.sum2.end());
    e.counts = {float(s.count)};
  }
  return out;
}

}  // namespace kq
