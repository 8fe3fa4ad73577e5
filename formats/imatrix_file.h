// Importance-matrix files (formats.md C.4): llama-imatrix's GGUF form (read and written) and the legacy .dat (read).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace kq {

// What the quantizer uses: per weight, the per-column mean of squared activations, plus where it came from.
struct Imatrix {
  std::map<std::string, std::vector<float>> entries;  // weight name → [n_mat][ne0] means (n_mat > 1 for experts)
  std::string dataset;                                // the calibration text, when the file names it
  int chunks = -1;                                    // chunks of calibration text, when known
};

// Reads either form (told apart by the GGUF magic); a file without entries is a kq::Error.
Imatrix load_imatrix(const std::string& path);
Imatrix load_imatrix_gguf(const std::string& path);
Imatrix load_imatrix_dat(const std::string& path);

// What llama-imatrix stores: the raw sums, not yet divided, so files from several runs can be merged.
struct ImatrixSums {
  struct Entry {
    std::vector<float> in_sum2;  // [n_mat][n_cols] Σ a_k² per input column
    std::vector<float> counts;   // [n_mat] activation rows summed (tokens)
  };
  std::map<std::string, Entry> entries;  // by weight name, e.g. "blk.0.attn_q.weight"
  std::vector<std::string> datasets;     // calibration file name(s)
  int chunk_count = 0;                   // chunks evaluated
  int chunk_size = 0;                    // tokens per chunk
};

// Writes llama-imatrix's GGUF form: general.type "imatrix", imatrix.datasets / chunk_count /
// chunk_size, and per weight W the F32 tensors W.in_sum2 [n_cols, n_mat] and W.counts [1, n_mat].
// The file appears atomically (temp name, then rename).
void write_imatrix_gguf(const ImatrixSums& sums, const std::string& path);

}  // namespace kq
