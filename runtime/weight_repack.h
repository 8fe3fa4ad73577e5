// Load-time repacking of a model's matmul weights into the interleaved layouts of quant/repack.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "runtime/model_weights.h"

namespace kq {

// The repacked copies of a model's weights: one 64-byte-aligned allocation.
struct RepackedWeights {
  std::shared_ptr<uint8_t> bytes;  // null when nothing was repacked
  size_t size = 0;
  int n_tensors = 0;
};

// Repacks every eligible layer matmul weight and an untied output (repack_eligible), pointing each
// view's `repacked` at its copy. With release_source (the weights are a private read-only file
// mapping), the pages wholly inside a repacked tensor's original bytes are released with
// madvise(MADV_DONTNEED); they would come back from the file only if something read them again.
RepackedWeights repack_weights(ModelWeights& weights, bool release_source);

// Bytes repack_weights would allocate for these weights with the selected kernel table.
size_t repacked_weight_bytes(const ModelWeights& weights);

}  // namespace kq
