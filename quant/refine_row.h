// The row driver of the refining quantizers: llama.cpp's blocks first, then a refining search per
// block, kept only where the decoded block's weighted error is lower than the reference block's.
#pragma once

#include <cstdint>
#include <cstring>

#include "quant/refine_search.h"

namespace kq::refine {

// Returns sum w*(x - y)^2 over n values.
inline float weighted_error(const float* x, const float* y, const float* w, int n) {
  float err = 0;
  for (int i = 0; i < n; ++i) {
    const float diff = x[i] - y[i];
    err += w[i] * diff * diff;
  }
  return err;
}

// Quantizes a row with Codec's type. Codec supplies (see refine_legacy.cpp / refine_k.cpp):
//   kBlock, Block, layout, levels    block shape and level set
//   reference(src, dst, n, imp)      the llama.cpp-identical row quantizer
//   weights(x, qw, row_sigma2, w)    the error weights of one block with importance qw (not null)
//   decode(block) / encode(p, L, b)  scales <-> block bytes
//   dequantize(block, y)             the decoder
//   seeds(x, p, out)                 extra starting points beside the reference's scales (count)
template <class Codec>
void refine_row(const Codec& c, const float* src, void* dst, int64_t n, const float* importance) {
  using Block = typename Codec::Block;
  constexpr int kB = Codec::kBlock;
  c.reference(src, dst, n, importance);
  float row_sigma2 = 0;
  if (importance) {
    for (int64_t i = 0; i < n; ++i) row_sigma2 += src[i] * src[i];
    row_sigma2 /= float(n);
  }
  Block* blocks = static_cast<Block*>(dst);
  for (int64_t ib = 0; ib < n / kB; ++ib) {
    const float* x = src + ib * kB;
    float w[kB], y[kB];
    // Without an imatrix every weight counts the same: for activations of unknown, equal spread the
    // matmul's output error is the plain sum of squared weight errors. (llama.cpp's own searches
    // use x^2 or |x| weights here; on synth-tiny that lowers mean KLD less or even raises it.)
    if (importance) {
      c.weights(x, importance + ib * kB, row_sigma2, w);
    } else {
      for (int i = 0; i < kB; ++i) w[i] = 1.0f;
    }
    const Params ref = c.decode(blocks[ib]);
    BlockSearch search(x, w, c.layout, c.levels);
    search.start(ref);
    Params best = ref;
    int8_t best_L[kB];
    float best_err = search.run(3);
    best = search.params();
    std::memcpy(best_L, search.levels(), kB);
    Params extra[8];
    const int n_seeds = c.seeds(x, ref, extra);
    for (int s = 0; s < n_seeds; ++s) {
      search.start(extra[s]);
      const float e = search.run(3);
      if (e < best_err) {
        best_err = e;
        best = search.params();
        std::memcpy(best_L, search.levels(), kB);
      }
    }
    // Judge on what the decoder produces: keep the reference block unless the new one is better.
    Block cand;
    c.encode(best, best_L, cand);
    c.dequantize(cand, y);
    const float e_new = weighted_error(x, y, w, kB);
    c.dequantize(blocks[ib], y);
    if (e_new < weighted_error(x, y, w, kB)) blocks[ib] = cand;
  }
}

}  // namespace kq::refine
