// A decode step allocates nothing: the session's buffers are sized once (runtime/memory_plan.h).
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <new>
#include <vector>

#include "runtime/model.h"
#include "runtime/session.h"
#include "tests/support/testdata.h"

// Counts the C++ heap allocations of the whole test program; the test reads the count around
// the code it checks. (The other operator new forms call these two.) Not under AddressSanitizer:
// its runtime defines every operator new form itself, so memory from its nothrow/array forms would
// reach these deletes (alloc-dealloc-mismatch in every test of the program).
#if !defined(__SANITIZE_ADDRESS__)
namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t a) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  const std::size_t align = static_cast<std::size_t>(a);
  if (void* p = std::aligned_alloc(align, (n + align - 1) / align * align)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#endif

TEST_CASE("session: decode steps allocate no memory, on one thread or a team", "[model]") {
#if defined(__SANITIZE_ADDRESS__)
  SUCCEED("allocation counting is off under AddressSanitizer");
  return;
#else
  {  // the counter sees this program's allocations
    const long before = g_allocations.load();
    std::vector<int> v(4, 1);
    CHECK(g_allocations.load() - before == 1);
    CHECK(v.back() == 1);
  }
  const auto model = kq::Model::load(kq::test::testdata_file("quant/synth-tiny-mix-Q4_K_M.gguf"));
  for (const int threads : {1, 2}) {
    INFO(threads << " threads");
    kq::Session s(*model, {256, 512, threads});
    const std::vector<int32_t> prompt = {1, 429, 491, 433, 295};
    s.eval(prompt);
    const std::vector<int32_t> token = {478};  // built before counting: eval takes a vector
    s.eval(token);                              // the first decode step may size the logits row
    const long before = g_allocations.load();
    for (int i = 0; i < 16; ++i) s.eval(token);
    CHECK(g_allocations.load() - before == 0);
  }
#endif
}
