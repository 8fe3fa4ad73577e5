// oneDNN f32 matmul for float-weight prefill: the policy table, primitive caches, ISA cap and threads.
//
// A weight of n_rows rows × k is oneDNN's weights matrix B (k × n_rows) in "ba" order (row r of
// the tensor is column r of B, row_bytes apart), so F32 weights are read in place from the mmap.
// F16 / BF16 weights are widened exactly to f32, one panel of kPanelRows rows at a time, into
// scratch and multiplied from there. oneDNN's scratchpad is user-managed: it lives in the
// session's planned matmul scratch. What oneDNN keeps for itself is not planned: the cached
// primitives with their JIT code (tens of KiB each, one per distinct shape), and at the AVX2 level
// the packing buffers that its gemm:jit sgemm allocates per call (freed on return).
#include "runtime/matmul_onednn.h"

#include <omp.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <vector>

#include "common/error.h"
#include "quant/kernels.h"

namespace kq {
namespace {

constexpr size_t kAlign = 64;
size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// F16 / BF16 weights are widened this many rows at a time (one oneDNN call per panel).
constexpr int64_t kPanelRows = 256;

// Which (level, type) pairs go to oneDNN and from how many tokens; measured with interleaved A/B
// runs of `kq bench --synthetic dim=2048,layers=2,heads=32,kv_heads=8,ff=8192 -p 512` (t/s, best
// of 3, 2 rounds; numbers in the commit messages). avx512: F32 160/159 -> 169/214 (-t 1); kq's own
// f32 tiles stay for F16 / BF16 (oneDNN on widened panels was slower: F16 168-415 vs 136-250, BF16
// 204-268 vs 162-186 at -t 1, and half at -t 2). avx2, which has no float GEMM of its own, only
// the dot-product loop: F32 63-76 -> 155-203, F16 93-107 -> 228-235, BF16 122 -> 183-260 (-t 1).
OnednnPrefill policy(Isa isa, QType type) {
  if (type != QType::F32 && type != QType::F16 && type != QType::BF16) return {};
  if (isa == Isa::kAvx512 && type == QType::F32) return {"onednn f32 matmul", 32};
  if (isa == Isa::kAvx2) return {type == QType::F32 ? "onednn f32 matmul" : "onednn f32 matmul, widened panels", 32};
  return {};
}

// Caps oneDNN at the selected level (KQ_ISA=avx2 must really be AVX2) before its first primitive.
const dnnl::engine& engine() {
  static const dnnl::engine e = [] {
    const Isa isa = kernels().isa;
    if (isa != Isa::kAvx2 && isa != Isa::kAvx512)
      throw Error("oneDNN is not used at the " + std::string(isa_name(isa)) + " level");
    try {
      dnnl::set_max_cpu_isa(isa == Isa::kAvx2 ? dnnl::cpu_isa::avx2 : dnnl::cpu_isa::avx512_core);
    } catch (const dnnl::error& err) {
      throw Error(std::string("oneDNN: cannot cap its ISA at ") + isa_name(isa) + ": " + err.what());
    }
    return dnnl::engine(dnnl::engine::kind::cpu, 0);
  }();
  return e;
}

// oneDNN's OpenMP runtime runs omp_get_max_threads() threads (read when a primitive is created and
// when it runs), so the session's count is set around each use and restored after.
class OmpThreads {
 public:
  explicit OmpThreads(int n) : saved_(omp_get_max_threads()) { omp_set_num_threads(std::max(n, 1)); }
  ~OmpThreads() { omp_set_num_threads(saved_); }
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;

 private:
  int saved_;
};

// One problem shape: y (m × n, ldy floats apart) = x (m × k, dense) · B (k × n, column j at
// j·ldw floats), with n_threads threads.
struct Shape {
  int64_t m, n, k, ldw, ldy;
  int n_threads;
  auto operator<=>(const Shape&) const = default;
};

dnnl::matmul::primitive_desc make_pd(const Shape& s) {
  using dt = dnnl::memory::data_type;
  const dnnl::memory::desc a({s.m, s.k}, dt::f32, dnnl::memory::dims{s.k, 1});
  const dnnl::memory::desc b({s.k, s.n}, dt::f32, dnnl::memory::dims{1, s.ldw});
  const dnnl::memory::desc c({s.m, s.n}, dt::f32, dnnl::memory::dims{s.ldy, 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  OmpThreads threads(s.n_threads);
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(a, b, c), attr, engine());
}

struct Cached {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
  size_t scratchpad = 0;
};

std::mutex g_mutex;

// The primitive of one shape, created once (JIT code included) and reused by every later call.
const Cached& primitive(const Shape& s) {
  static std::map<Shape, Cached> cache;
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = cache.find(s);
  if (it == cache.end()) {
    Cached c;
    c.pd = make_pd(s);
    {
      OmpThreads threads(s.n_threads);
      c.prim = dnnl::matmul(c.pd);
    }
    c.scratchpad = c.pd.scratchpad_desc().get_size();
    it = cache.emplace(s, std::move(c)).first;
  }
  return it->second;
}

// The largest scratchpad over m = 1..s.m (oneDNN's blocking may change with m), from descriptors
// only (no JIT), remembered per shape so a plan asks each m once.
size_t max_scratchpad(const Shape& s) {
  static std::map<Shape, std::vector<size_t>> sizes;  // key has m = 0; value[m - 1] = running max
  std::lock_guard<std::mutex> lock(g_mutex);
  Shape key = s;
  key.m = 0;
  std::vector<size_t>& v = sizes[key];
  while (int64_t(v.size()) < s.m) {
    Shape q = s;
    q.m = int64_t(v.size()) + 1;
    const size_t here = make_pd(q).scratchpad_desc().get_size();
    v.push_back(std::max(here, v.empty() ? size_t(0) : v.back()));
  }
  return s.m > 0 ? v[size_t(s.m - 1)] : 0;
}

bool widened(QType t) { return t != QType::F32; }

bool is_float(QType t) { return t == QType::F32 || t == QType::F16 || t == QType::BF16; }

void check_supported(const TensorView& w) {
  if (!is_float(w.type) || (!widened(w.type) && w.row_bytes % sizeof(float) != 0))
    throw Error(std::string("matmul: oneDNN does not take ") + type_name(w.type) + " weights");
  engine();  // throws at a level without oneDNN
}

// The shape of one oneDNN call for n_tokens tokens of w (F16 / BF16: one full panel).
Shape call_shape(const TensorView& w, int n_tokens, int n_threads) {
  const int64_t rows = w.n_rows();
  if (widened(w.type)) return {n_tokens, std::min(rows, kPanelRows), w.ne[0], w.ne[0], rows, n_threads};
  return {n_tokens, rows, w.ne[0], int64_t(w.row_bytes / sizeof(float)), rows, n_threads};
}

// The scratchpad of every call matmul makes for up to n_tokens tokens (F16 / BF16: the full panels and the last one).
size_t scratchpad_bytes(const TensorView& w, int n_tokens, int n_threads) {
  Shape s = call_shape(w, n_tokens, n_threads);
  size_t bytes = max_scratchpad(s);
  if (widened(w.type) && w.n_rows() % kPanelRows != 0) {
    s.n = w.n_rows() % kPanelRows;
    bytes = std::max(bytes, max_scratchpad(s));
  }
  return align_up(bytes);
}

size_t panel_bytes(const TensorView& w) {
  return widened(w.type) ? align_up(size_t(std::min(w.n_rows(), kPanelRows)) * size_t(w.ne[0]) * sizeof(float)) : 0;
}

// Widens rows [r0, r0 + n) of an F16 / BF16 weight to dense f32 rows of k (exact), over threads.
void widen_panel(const TensorView& w, int64_t r0, int64_t n, float* dst, int n_threads) {
  const TypeTraits& tt = type_traits(w.type);
  const int64_t k = w.ne[0];
#pragma omp parallel for num_threads(n_threads) schedule(static) if (n_threads > 1)
  for (int64_t r = 0; r < n; ++r) tt.to_float(w.row(r0 + r), dst + size_t(r) * size_t(k), k);
}

void run(const Shape& s, const float* x, const void* b, float* y, uint8_t* scratchpad) {
  const Cached& c = primitive(s);
  const dnnl::engine& e = engine();
  thread_local dnnl::stream stream(e);
  dnnl::memory ma(c.pd.src_desc(), e, const_cast<float*>(x));
  dnnl::memory mb(c.pd.weights_desc(), e, const_cast<void*>(b));
  dnnl::memory mc(c.pd.dst_desc(), e, y);
  dnnl::memory ms(c.pd.scratchpad_desc(), e, c.scratchpad ? scratchpad : nullptr);
  OmpThreads threads(s.n_threads);
  c.prim.execute(stream, {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}, {DNNL_ARG_SCRATCHPAD, ms}});
  stream.wait();
}

}  // namespace

OnednnPrefill onednn_prefill(QType type) { return policy(kernels().isa, type); }

const char* onednn_isa() {
  engine();
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    default: return "other";
  }
}

bool onednn_matmul_used(const TensorView& w, int n_tokens) {
  const OnednnPrefill p = onednn_prefill(w.type);
  if (!p.name || n_tokens < p.min_tokens) return false;
  // F32 rows must be whole floats apart for the "ba" weights descriptor.
  return widened(w.type) || w.row_bytes % sizeof(float) == 0;
}

size_t onednn_matmul_scratch_bytes(const TensorView& w, int n_tokens, int n_threads) {
  check_supported(w);
  return scratchpad_bytes(w, n_tokens, n_threads) + panel_bytes(w) + kAlign;
}

void onednn_matmul(const TensorView& w, const float* x, int n_tokens, float* y, uint8_t* scratch, int n_threads) {
  check_supported(w);
  uint8_t* base = reinterpret_cast<uint8_t*>(align_up(reinterpret_cast<uintptr_t>(scratch)));
  const Shape s = call_shape(w, n_tokens, n_threads);
  if (!widened(w.type)) {
    run(s, x, w.data, y, base);
    return;
  }
  // F16 / BF16: [scratchpad][panel], each panel widened then multiplied into its columns of y.
  float* panel = reinterpret_cast<float*>(base + scratchpad_bytes(w, n_tokens, n_threads));
  const int64_t rows = w.n_rows();
  for (int64_t r0 = 0; r0 < rows; r0 += kPanelRows) {
    Shape p = s;
    p.n = std::min(kPanelRows, rows - r0);
    widen_panel(w, r0, p.n, panel, n_threads);
    run(p, x, panel, y + r0, base);
  }
}

}  // namespace kq
