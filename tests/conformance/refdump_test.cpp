// Conformance: greedy decoding of "Once upon a time" against llama.cpp's refs/<model>.refdump.txt.
//
// Unquantized models (F32/F16/BF16 weights) must reproduce the first 16 greedy ids and the step-0
// top-5 logits within 0.01; quantized ones are reported (ids matched, max logit difference) and
// held only to a loose sanity bar, since ggml's SIMD kernels round activations slightly differently.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "runtime/model.h"
#include "runtime/session.h"
#include "tests/support/conformance_models.h"
#include "tests/support/testdata.h"

namespace {

using kq::test::RefDump;

int32_t argmax(const float* v, int n) {
  return int32_t(std::max_element(v, v + n) - v);
}

struct Agreement {
  int ids_matched = 0;       // leading greedy ids equal to llama.cpp's (of 16)
  float max_step0_diff = 0;  // max |logit − ref| over the step-0 top-5 ids
};

// Decodes 16 greedy steps after the prompt with one thread and compares with the dump.
Agreement run_refdump(const std::string& name) {
  const RefDump ref = kq::test::read_refdump(name);
  const auto model = kq::Model::load(kq::test::model_path(name));
  kq::SessionOptions opt;
  opt.n_ctx = 64;
  opt.n_threads = 1;
  kq::Session s(*model, opt);
  s.eval(ref.prompt_ids);
  Agreement a;
  for (const auto& [id, logit] : ref.top5[0])
    a.max_step0_diff = std::max(a.max_step0_diff, std::fabs(s.logits()[id] - logit));
  bool matching = true;
  for (int step = 0; step < 16; ++step) {
    const int32_t next = argmax(s.logits(), s.n_vocab());
    matching = matching && next == ref.greedy_ids[size_t(step)];
    a.ids_matched += matching ? 1 : 0;
    s.eval({next});
  }
  return a;
}

}  // namespace

TEST_CASE("refdump: greedy decoding agrees with llama.cpp", "[model][conformance]") {
  std::printf("%-24s %8s %14s\n", "model", "ids/16", "max step-0 Δ");
  for (const std::string name : kq::test::kConformanceModels) {
    const Agreement a = run_refdump(name);
    std::printf("%-24s %8d %14.5f\n", name.c_str(), a.ids_matched, double(a.max_step0_diff));
    INFO(name << ": " << a.ids_matched << "/16 greedy ids, max step-0 logit diff " << a.max_step0_diff);
    if (kq::test::is_unquantized(name)) {
      CHECK(a.ids_matched == 16);
      // BF16: llama.cpp rounded the activations; kq is held to that rounding's measured size.
      const double tol = kq::test::llamacpp_rounds_activations(name) ? kq::test::llamacpp_step0_diff_vs_f32(name) : 0.01;
      CHECK(a.max_step0_diff <= tol);
    } else {
      // Loose sanity bar: the logits are the model's, not noise.
      CHECK(a.max_step0_diff <= 1.0f);
    }
  }
}
