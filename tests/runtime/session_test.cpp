// Tests for runtime/session: batching, truncation, logits rows, KV cache types, threads and errors.
#include "runtime/session.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "common/error.h"
#include "runtime/model.h"
#include "tests/support/testdata.h"

namespace {

const kq::Model& stories() {
  static const auto model = kq::Model::load(kq::test::testdata_file("stories260K.gguf"));
  return *model;
}

const kq::Model& synth_f32() {
  static const auto model = kq::Model::load(kq::test::testdata_file("quant/synth-tiny-f32.gguf"));
  return *model;
}

const std::vector<int32_t> kPrompt = {1, 429, 491, 433, 295, 429, 444, 445, 265, 262, 263, 342, 430};

std::vector<float> row(const kq::Session& s, int i = -1) {
  const float* l = s.logits(i);
  return std::vector<float>(l, l + s.n_vocab());
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, double(std::fabs(a[i] - b[i])));
  return d;
}

}  // namespace

TEST_CASE("session: options resolve to defaults", "[model]") {
  kq::Session s(stories());
  CHECK(s.n_ctx() == std::min(stories().config().n_ctx_train, 4096));
  CHECK(s.n_threads() >= 1);
  CHECK(s.n_vocab() == 512);
  CHECK(s.n_past() == 0);
  CHECK(s.kv_cache().type() == kq::QType::F16);
  CHECK(kq::physical_cores() >= 1);
}

TEST_CASE("session: batch size, splitting and threads do not change the logits", "[model]") {
  kq::Session whole(stories(), {64, 512, 1});
  whole.eval(kPrompt, true);

  kq::Session chunked(stories(), {64, 4, 2});  // 13 tokens in chunks of 4, two threads
  chunked.eval(kPrompt, true);
  REQUIRE(chunked.n_logits() == int(kPrompt.size()));

  kq::Session one_by_one(stories(), {64, 512, 1});
  for (size_t i = 0; i < kPrompt.size(); ++i) {
    one_by_one.eval({kPrompt[i]});
    // Each token's computation is independent of how the batch was cut: bit-identical logits.
    // (13 tokens stay below oneDNN's 32-token prefill threshold for stories260K's F32 weights;
    // above it, oneDNN's own summation order is checked against its bound in matmul_onednn_test.)
    CHECK(row(one_by_one) == row(whole, int(i)));
    CHECK(row(chunked, int(i)) == row(whole, int(i)));
  }
  CHECK(one_by_one.n_past() == 13);
  CHECK(one_by_one.n_logits() == 1);
}

TEST_CASE("session: truncate rewinds the cache", "[model]") {
  kq::Session s(stories(), {64, 512, 1});
  s.eval(kPrompt);
  const auto full = row(s);
  s.truncate(5);
  CHECK(s.n_past() == 5);
  s.eval(std::vector<int32_t>(kPrompt.begin() + 5, kPrompt.end()));
  CHECK(row(s) == full);
  s.truncate(0);
  s.eval(kPrompt);
  CHECK(row(s) == full);
  CHECK_THROWS_AS(s.truncate(14), kq::Error);
  CHECK_THROWS_AS(s.truncate(-1), kq::Error);
}

TEST_CASE("session: errors for context overflow, bad ids and missing logits", "[model]") {
  kq::Session s(stories(), {16, 512, 1});
  CHECK_THROWS_WITH(s.logits(), Catch::Contains("call eval() first"));
  CHECK_THROWS_WITH(s.eval(std::vector<int32_t>(17, 1)),
                    Catch::Contains("prompt of 17 tokens does not fit the context of 16"));
  CHECK_THROWS_WITH(s.eval({1, 512}), Catch::Contains("token id 512 at index 1 is out of range"));
  CHECK_THROWS_WITH(s.eval({-3}), Catch::Contains("token id -3"));
  CHECK(s.n_past() == 0);  // failed evals change nothing
  s.eval(std::vector<int32_t>(10, 1));
  CHECK_THROWS_WITH(s.eval(std::vector<int32_t>(7, 1)), Catch::Contains("(10 positions already used)"));
  CHECK_THROWS_AS(s.logits(1), kq::Error);
  s.eval(std::vector<int32_t>(6, 1));
  CHECK(s.n_past() == 16);
}

TEST_CASE("session: F32, F16 and Q8_0 KV caches agree closely", "[model]") {
  auto run = [](kq::QType type) {
    kq::Session s(synth_f32(), {64, 512, 1, type});
    s.eval(kPrompt);
    s.eval({478});
    return row(s);
  };
  const auto f32 = run(kq::QType::F32);
  const auto f16 = run(kq::QType::F16);
  const auto q8 = run(kq::QType::Q8_0);
  CHECK(max_diff(f32, f16) > 0);  // the F16 path really rounds
  CHECK(max_diff(f32, f16) < 0.05);
  CHECK(max_diff(f32, q8) < 0.5);
  // stories260K's 8-wide heads cannot hold 32-element Q8_0 blocks.
  CHECK_THROWS_WITH(kq::Session(stories(), {64, 512, 1, kq::QType::Q8_0}), Catch::Contains("multiples of 32"));
  CHECK_THROWS_WITH(kq::Session(stories(), {64, 512, 1, kq::QType::Q4_K}), Catch::Contains("not supported"));
}

TEST_CASE("session: thread counts split attention differently but give the same logits", "[model]") {
  // synth-tiny has 4 query heads over 2 KV heads (64 wide): with 3 threads decode splits each GQA
  // group in halves and prefill cuts the tokens into tiles; every cache type, prefill and decode.
  for (const kq::QType type : {kq::QType::F32, kq::QType::F16, kq::QType::Q8_0}) {
    INFO(kq::type_name(type));
    auto run = [&](int threads) {
      kq::Session s(synth_f32(), {64, 512, threads, type});
      s.eval(kPrompt, true);
      std::vector<std::vector<float>> rows;
      for (int i = 0; i < s.n_logits(); ++i) rows.push_back(row(s, i));
      for (const int32_t t : {478, 12, 300}) {
        s.eval({t});
        rows.push_back(row(s));
      }
      return rows;
    };
    const auto one = run(1), three = run(3);
    REQUIRE(one.size() == three.size());
    // Each (query, position) dot and each output row is computed by the same kernels whatever the
    // split; only a GEMM-or-not choice by tile height could move the last bits.
    for (size_t i = 0; i < one.size(); ++i) CHECK(max_diff(one[i], three[i]) < 1e-4);
  }
}
