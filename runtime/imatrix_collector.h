// ImatrixCollector: sums squared matmul inputs per weight column while a Session runs (llama-imatrix's collection).
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "formats/imatrix_file.h"
#include "runtime/session.h"

namespace kq {

class Model;

class ImatrixCollector : public MatmulObserver {
 public:
  // Collects the blk.* weights of `model`, as llama-imatrix does; output.weight too when
  // include_output (its --process-output). token_embd is a row lookup, never a matmul input, and
  // a tied output (which multiplies by token_embd.weight) is left out like llama-imatrix leaves it.
  explicit ImatrixCollector(const Model& model, bool include_output = false);

  void observe(const TensorView& w, const float* x, int n_tokens) override;

  // The sums so far, one entry per weight that saw at least one token (chunk fields left 0).
  ImatrixSums sums() const;

 private:
  struct Stats {
    std::string name;
    std::vector<double> sum2;  // [ne0] Σ x_k² over every row seen
    int64_t count = 0;         // rows (tokens) seen
  };
  std::unordered_map<const void*, Stats> by_data_;  // keyed by the weight's data pointer in the mapping
};

}  // namespace kq
