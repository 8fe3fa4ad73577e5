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

// A Codec whose reference quantizer and decoder are the type's row functions.
template <class Codec>
Codec with_rows(void (*reference)(const float*, void*, int64_t, const float*),
                void (*dequantize_row)(const void*, float*, int64_t)) {
  Codec c;
  c.reference = reference;
  c.dequantize_row = dequantize_row;
  return c;
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
    // Start from the best of the reference's scales and the codec's extra seeds, by their error.
    Params start = c.decode(blocks[ib]);
    Params extra[8];
    const int n_seeds = c.seeds(x, start, extra);
    BlockSearch search(x, w, c.layout, c.levels);
    float start_err = search.start(start);
    for (int s = 0; s < n_seeds; ++s) {
      const float e = search.start(extra[s]);
      if (e < start_err) start_err = e, start = extra[s];
    }
    search.start(start);
    search.run(2);
    const Params best = search.params();
    int8_t best_L[kB];
    std::memcpy(best_L, search.levels(), kB);
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
