// Memory bandwidth: a streaming read probe, and the bytes one decode step must read (its roofline).
#pragma once

#include <cstddef>
#include <vector>

#include "quant/registry.h"

namespace kq {

class Model;

constexpr size_t kMembwDefaultBytes = size_t(1) << 30;  // 1 GiB: far beyond any last-level cache

struct MembwResult {
  int n_threads = 0;
  double gb_per_s = 0;  // 1e9 bytes per second, the best of the runs
};

// Streams a buffer of `bytes` (touched first, so pages are real) with simple vector loads, split
// evenly over each thread count, `runs` times after a warm-up pass; returns the best rate per count.
// huge_pages asks for transparent huge pages (madvise), as synthetic model weights do.
std::vector<MembwResult> measure_read_bandwidth(const std::vector<int>& thread_counts,
                                                size_t bytes = kMembwDefaultBytes, int runs = 5,
                                                bool huge_pages = true);

// Bytes one decode step reads: every matmul weight (output included), one embedding row (none extra
// when the output is tied to the embedding), and the
// keys and values of `kv_depth` cached positions in every layer (fractional depth = a mean).
double decode_bytes_per_token(const Model& model, double kv_depth, QType cache_type = QType::F16);

}  // namespace kq
