// Repacks a model's matmul weights once at load (quant/repack.h) and releases the originals' pages.
#include "runtime/weight_repack.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "common/error.h"
#include "quant/repack.h"

namespace kq {
namespace {

constexpr size_t kAlign = 64;

// The views that may be repacked: each layer's matmuls, and the output unless it is token_embd.
std::vector<TensorView*> candidates(ModelWeights& w) {
  std::vector<TensorView*> out;
  for (LayerWeights& l : w.layers)
    for (TensorView* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down})
      if (t->present()) out.push_back(t);
  if (!w.tied_output && w.output.present()) out.push_back(&w.output);
  return out;
}

size_t bytes_of(const TensorView& t) {
  const size_t n = repacked_bytes(t.type, t.n_rows(), t.n_cols());
  return (n + kAlign - 1) / kAlign * kAlign;
}

// Releases the whole pages inside [p, p + n) of a private read-only file mapping.
void release_pages(const uint8_t* p, size_t n) {
  const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (uintptr_t(p) + page - 1) / page * page;
  const uintptr_t end = (uintptr_t(p) + n) / page * page;
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);  // advice: errors ignored
}

}  // namespace

size_t repacked_weight_bytes(const ModelWeights& weights) {
  size_t total = 0;
  for (const TensorView* t : candidates(const_cast<ModelWeights&>(weights))) total += bytes_of(*t);
  return total;
}

RepackedWeights repack_weights(ModelWeights& weights, bool release_source) {
  RepackedWeights r;
  const std::vector<TensorView*> views = candidates(weights);
  for (const TensorView* t : views) r.size += bytes_of(*t);
  if (r.size == 0) return r;
  void* mem = std::aligned_alloc(kAlign, r.size);
  if (!mem) throw Error("repack: cannot allocate " + std::to_string(r.size) + " bytes for repacked weights");
  r.bytes = std::shared_ptr<uint8_t>(static_cast<uint8_t*>(mem), [](uint8_t* p) { std::free(p); });
#ifdef MADV_HUGEPAGE
  ::madvise(mem, r.size, MADV_HUGEPAGE);  // advice only: fewer TLB misses while streaming
#endif
  uint8_t* out = r.bytes.get();
  for (TensorView* t : views) {
    const size_t n = bytes_of(*t);
    if (n == 0) continue;
    repack_rows(t->type, t->data, t->row_bytes, t->n_rows(), t->n_cols(), out);
    t->repacked = out;
    if (release_source) release_pages(t->data, t->row_bytes * size_t(t->n_rows()));
    out += n;
    ++r.n_tensors;
  }
  return r;
}

}  // namespace kq
