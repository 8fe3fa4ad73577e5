// End-to-end check on the default model (SmolLM2-135M-Instruct Q4_1): tied embeddings, GQA 9/3, a
// 49152-token vocabulary, and a greedy continuation that knows the capital of France.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "runtime/model.h"
#include "runtime/session.h"
#include "tests/runtime/tokenizer_test_util.h"

TEST_CASE("smollm2: greedy continuation of 'The capital of France is' names Paris", "[model]") {
  const auto model = kq::Model::load(kq::test::default_model_path());
  const kq::ModelConfig& c = model->config();
  CHECK(c.arch == "llama");
  CHECK(c.n_vocab == 49152);
  CHECK(c.n_head == 9);
  CHECK(c.n_head_kv == 3);
  CHECK(c.head_dim == 64);
  CHECK(model->weights().tied_output);

  // "The capital of France is" as llama.cpp tokenizes it (no BOS for this vocabulary), fixed here
  // so that this test does not depend on the tokenizer.
  const std::vector<int32_t> prompt = {504, 3575, 282, 4649, 314};
  kq::Session s(*model, {256});
  s.eval(prompt);
  // One greedy step is the whole claim; more would only cost test time (135M scalar MACs a token).
  const int32_t next = int32_t(std::max_element(s.logits(), s.logits() + s.n_vocab()) - s.logits());
  const kq::GgufValue* tokens = model->gguf().find("tokenizer.ggml.tokens");
  REQUIRE(tokens);
  CHECK(tokens->string_at(size_t(next)) == "\xC4\xA0Paris");  // "ĠParis": byte-level BPE space + Paris
  CHECK(s.n_past() == 5);
}
