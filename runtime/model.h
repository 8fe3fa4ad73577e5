// Model: an opened GGUF file with its hyperparameters and bound weights; immutable and shareable.
#pragma once

#include <memory>
#include <string>

#include "formats/gguf.h"
#include "runtime/model_config.h"
#include "runtime/model_weights.h"

namespace kq {

class Model {
 public:
  // Maps the file and binds every tensor; a malformed file, an unknown architecture or a
  // missing/mis-shaped tensor is a kq::Error naming it.
  static std::unique_ptr<Model> load(const std::string& path);
  // Same, for a GgufFile the caller already opened (tests, in-memory files).
  static std::unique_ptr<Model> from_gguf(GgufFile file);

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  const GgufFile& gguf() const { return file_; }
  // Bytes of tensor data in the mapping (what the weights cost in memory).
  size_t weight_bytes() const;

  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

 private:
  explicit Model(GgufFile file);

  GgufFile file_;  // owns the mmap that every TensorView in weights_ points into
  ModelConfig config_;
  ModelWeights weights_;
};

}  // namespace kq
