// Model: an opened GGUF file with its hyperparameters and bound weights; immutable and shareable.
#pragma once

#include <memory>
#include <string>

#include "formats/gguf.h"
#include "runtime/model_config.h"
#include "runtime/model_weights.h"
#include "runtime/weight_repack.h"

namespace kq {

// How a model is prepared at load.
struct LoadOptions {
  // Repack eligible matmul weights (quant/repack.h): --repack / --no-repack. Off by default: the
  // Q8_0x16 kernel measured ~15% more CPU time per decoded token than the file-layout kernel.
  bool repack = false;
};

class Model {
 public:
  // Maps the file and binds every tensor; a malformed file, an unknown architecture or a
  // missing/mis-shaped tensor is a kq::Error naming it.
  static std::unique_ptr<Model> load(const std::string& path, const LoadOptions& options = {});
  // Same, for a GgufFile the caller already opened (tests, in-memory files). A file parsed with
  // GgufFile::from_memory may hand its bytes over as `storage`, which the Model then keeps alive.
  static std::unique_ptr<Model> from_gguf(GgufFile file, std::shared_ptr<const void> storage = {},
                                          const LoadOptions& options = {});

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  const GgufFile& gguf() const { return file_; }
  // Bytes of tensor data in the mapping (what the weights cost in memory).
  size_t weight_bytes() const;
  // Bytes of the load-time repacked copies (0 when nothing was repacked), and how many tensors.
  size_t repacked_bytes() const { return repacked_.size; }
  int repacked_tensors() const { return repacked_.n_tensors; }

  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

 private:
  Model(GgufFile file, std::shared_ptr<const void> storage, const LoadOptions& options);

  std::shared_ptr<const void> storage_;  // the bytes of an in-memory file (declared first: outlives file_)
  GgufFile file_;  // owns the mmap that every TensorView in weights_ points into
  ModelConfig config_;
  ModelWeights weights_;
  RepackedWeights repacked_;  // owns the memory weights_'s `repacked` views point into
};

}  // namespace kq
