// The read-bandwidth probe (OpenMP threads each streaming a slice) and the per-token byte count.
#include "runtime/membw.h"

#include <omp.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>

#include "common/error.h"
#include "runtime/model.h"

namespace kq {

namespace {

using Vec = uint64_t __attribute__((vector_size(32)));
constexpr size_t kPrefetchAhead = 16384;

// XOR-folds n bytes (a multiple of 128) with four independent accumulators, so the loop is bound
// by loads alone. Cloned for AVX2 where the CPU has it; the default clone uses two 16-byte loads.
#if defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
uint64_t read_stream(const uint8_t* p, size_t n, bool prefetch) {
  Vec a{}, b{}, c{}, d{};
  for (size_t i = 0; i < n; i += 128) {
    // Optionally prefetch far ahead into L2 as the decode kernels do: with several cores streaming,
    // plain loads leave the memory system short of requests in flight (measured here: 2 threads
    // 36 GB/s without, 49 GB/s with), while a lone core streams faster without it.
    if (prefetch) {
      __builtin_prefetch(p + i + kPrefetchAhead, 0, 2);
      __builtin_prefetch(p + i + kPrefetchAhead + 64, 0, 2);
    }
    Vec x, y, z, w;
    std::memcpy(&x, p + i, 32);
    std::memcpy(&y, p + i + 32, 32);
    std::memcpy(&z, p + i + 64, 32);
    std::memcpy(&w, p + i + 96, 32);
    a ^= x;
    b ^= y;
    c ^= z;
    d ^= w;
  }
  const Vec s = a ^ b ^ c ^ d;
  return s[0] ^ s[1] ^ s[2] ^ s[3];
}

// Seconds for n_threads threads to read their slices of the buffer once.
double time_pass(const uint8_t* buf, size_t bytes, int n_threads, bool prefetch) {
  const size_t slice = bytes / size_t(n_threads) / 128 * 128;
  uint64_t sink = 0;
  const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(n_threads) reduction(^ : sink)
  sink ^= read_stream(buf + size_t(omp_get_thread_num()) * slice, slice, prefetch);
  const auto t1 = std::chrono::steady_clock::now();
  asm volatile("" : : "r"(sink));  // the result must look used, or the loads could be dropped
  return std::chrono::duration<double>(t1 - t0).count() * double(bytes) / double(slice * size_t(n_threads));
}

}  // namespace

std::vector<MembwResult> measure_read_bandwidth(const std::vector<int>& thread_counts, size_t bytes, int runs,
                                                bool huge_pages) {
  bytes = std::max<size_t>(bytes, size_t(1) << 16) / 4096 * 4096;
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw Error("membw: cannot map " + std::to_string(bytes) + " bytes: " + std::strerror(errno));
  const std::unique_ptr<void, std::function<void(void*)>> owner(p, [bytes](void* q) { ::munmap(q, bytes); });
#ifdef MADV_HUGEPAGE
  if (huge_pages) ::madvise(p, bytes, MADV_HUGEPAGE);  // advice only: errors are ignored
#else
  (void)huge_pages;
#endif
  auto* buf = static_cast<uint8_t*>(p);
  const int max_threads = std::max(1, *std::max_element(thread_counts.begin(), thread_counts.end()));
  // Non-zero data written by every thread, so no page is the shared zero page and each is local.
#pragma omp parallel for schedule(static) num_threads(max_threads)
  for (size_t i = 0; i < bytes; i += 4096) std::memset(buf + i, int(1 + (i >> 12) % 251), 4096);

  std::vector<MembwResult> out;
  for (const int nt : thread_counts) {
    if (nt < 1) throw Error("membw: thread count " + std::to_string(nt) + " is not positive");
    time_pass(buf, bytes, nt, false);  // warm-up: wakes the threads and fills the TLB
    double best = 0;  // the best of both access patterns: the machine's read bandwidth
    for (int r = 0; r < std::max(1, runs); ++r)
      for (const bool prefetch : {false, true})
        best = std::max(best, double(bytes) / time_pass(buf, bytes, nt, prefetch) / 1e9);
    out.push_back({nt, best});
  }
  return out;
}

double decode_bytes_per_token(const Model& model, double kv_depth, QType cache_type) {
  const ModelWeights& w = model.weights();
  const ModelConfig& c = model.config();
  const auto bytes = [](const TensorView& t) { return double(t.row_bytes) * double(t.n_rows()); };
  // A tied output is the embedding itself: its one looked-up row is then among the bytes read anyway.
  double total = bytes(w.output) + (w.tied_output ? 0.0 : double(w.token_embd.row_bytes));
  for (const LayerWeights& l : w.layers)
    for (const TensorView* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) total += bytes(*t);
  const double kv_row = double(row_size(cache_type, c.head_dim) + row_size(cache_type, c.head_dim_v));
  total += double(c.n_layer) * kv_depth * double(c.n_head_kv) * kv_row;
  return total;
}

}  // namespace kq
