// Model loading: open the GGUF, read the config, bind the weights, repack the eligible ones.
#include "runtime/model.h"

namespace kq {

Model::Model(GgufFile file, std::shared_ptr<const void> storage, const LoadOptions& options)
    : storage_(std::move(storage)),
      file_(std::move(file)), config_(ModelConfig::from_gguf(file_)), weights_(ModelWeights::bind(file_, config_)) {
  // Only a file mapping's pages can be released: in-memory bytes would be lost, not re-read.
  if (options.repack) repacked_ = repack_weights(weights_, file_.mapped());
}

std::unique_ptr<Model> Model::load(const std::string& path, const LoadOptions& options) {
  return from_gguf(GgufFile::open(path), {}, options);
}

std::unique_ptr<Model> Model::from_gguf(GgufFile file, std::shared_ptr<const void> storage, const LoadOptions& options) {
  return std::unique_ptr<Model>(new Model(std::move(file), std::move(storage), options));
}

size_t Model::weight_bytes() const {
  size_t total = 0;
  for (const GgufTensorInfo& t : file_.tensors()) total += t.nbytes;
  return total;
}

}  // namespace kq
