// Model loading: open the GGUF, read the config, bind the weights (no copies).
#include "runtime/model.h"

namespace kq {

Model::Model(GgufFile file, std::shared_ptr<const void> storage)
    : storage_(std::move(storage)),
      file_(std::move(file)), config_(ModelConfig::from_gguf(file_)), weights_(ModelWeights::bind(file_, config_)) {}

std::unique_ptr<Model> Model::load(const std::string& path) {
  return from_gguf(GgufFile::open(path));
}

std::unique_ptr<Model> Model::from_gguf(GgufFile file, std::shared_ptr<const void> storage) {
  return std::unique_ptr<Model>(new Model(std::move(file), std::move(storage)));
}

size_t Model::weight_bytes() const {
  size_t total = 0;
  for (const GgufTensorInfo& t : file_.tensors()) total += t.nbytes;
  return total;
}

}  // namespace kq
