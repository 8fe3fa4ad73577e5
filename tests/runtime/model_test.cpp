// Tests for runtime/model_config, model_weights and model: hyperparameters, the tensor list, errors,
// and the forward pass of every architecture variant against an independent double-precision one.
#include "runtime/model.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <string>

#include "common/error.h"
#include "runtime/session.h"
#include "tests/runtime/tiny_model.h"
#include "tests/support/testdata.h"

namespace {

using kq::test::TinyModel;
using kq::test::TinySpec;

std::string tiny_path(const std::string& name) {
  return kq::test::scratch_dir() + "/" + name + ".gguf";
}

// Writes the model and returns the message of the kq::Error that loading it throws ("" if none).
std::string load_error(const TinyModel& m, const std::string& name) {
  const std::string path = tiny_path(name);
  kq::test::write_tiny_model(m, path);
  try {
    kq::Model::load(path);
  } catch (const kq::Error& e) {
    return e.what();
  }
  return "";
}

// Max |kq − reference| over every position's logits, with an F32 cache and 1 or 2 threads.
double max_logit_error(const TinyModel& m, const std::string& name, int n_threads) {
  const std::string path = tiny_path(name);
  kq::test::write_tiny_model(m, path);
  const auto model = kq::Model::load(path);
  kq::Session s(*model, {48, 5, n_threads, kq::QType::F32});
  std::vector<int32_t> tokens;
  for (int i = 0; i < 23; ++i) tokens.push_back((i * 37 + 11) % m.spec.n_vocab);
  s.eval(tokens, true);
  const auto ref = kq::test::ref_forward(m, tokens);
  double err = 0.0;
  for (size_t t = 0; t < tokens.size(); ++t)
    for (int v = 0; v < m.spec.n_vocab; ++v)
      err = std::max(err, std::fabs(double(s.logits(int(t))[v]) - ref[t][size_t(v)]));
  return err;
}

}  // namespace

TEST_CASE("model config: stories260K hyperparameters", "[model]") {
  const auto model = kq::Model::load(kq::test::testdata_file("stories260K.gguf"));
  const kq::ModelConfig& c = model->config();
  CHECK(c.arch == "llama");
  CHECK(c.n_vocab == 512);
  CHECK(c.n_embd == 64);
  CHECK(c.n_layer == 5);
  CHECK(c.n_ff == 172);
  CHECK(c.n_head == 8);
  CHECK(c.n_head_kv == 4);
  CHECK(c.head_dim == 8);
  CHECK(c.n_rot == 8);
  CHECK(c.rope_type == kq::RopeType::kNorm);
  CHECK(c.rope_freq_scale == 1.0f);
  CHECK(model->weights().layers.size() == 5);
  CHECK(model->weights().token_embd.ne[1] == 512);
  CHECK(model->weight_bytes() > 0);
}

TEST_CASE("model config: qwen2, linear RoPE scaling, partial rotation, defaults", "[model]") {
  TinySpec s;
  s.arch = "qwen2";
  s.rope_factor = 4.0f;
  s.n_rot = 4;
  s.tied = true;
  const std::string path = tiny_path("cfg-qwen2");
  kq::test::write_tiny_model(kq::test::make_tiny_model(s), path);
  const auto model = kq::Model::load(path);
  const kq::ModelConfig& c = model->config();
  CHECK(c.rope_type == kq::RopeType::kNeox);
  CHECK(c.qkv_bias);
  CHECK(c.rope_freq_scale == 0.25f);
  CHECK(c.n_rot == 4);
  CHECK(c.head_dim == 8);
  CHECK(model->weights().tied_output);
  CHECK(model->weights().output.data == model->weights().token_embd.data);
  CHECK(model->weights().layers[0].bq.present());
}

TEST_CASE("model config: errors name the key", "[model]") {
  TinyModel m = kq::test::make_tiny_model({});
  SECTION("unknown architecture") {
    m.spec.arch = "mamba";
    CHECK_THAT(load_error(m, "err-arch"), Catch::Contains("unsupported architecture 'mamba'"));
  }
  SECTION("head_count not a multiple of head_count_kv") {
    m.spec.n_head_kv = 3;
    CHECK_THAT(load_error(m, "err-gqa"), Catch::Contains("not a multiple of head_count_kv 3"));
  }
}

TEST_CASE("model config: per-layer arrays must be uniform", "[model]") {
  const std::string path = tiny_path("cfg-array");
  kq::test::write_tiny_model(kq::test::make_tiny_model({}), path);
  const kq::GgufFile src = kq::GgufFile::open(path);
  auto rewrite = [&](const std::vector<int32_t>& heads) {
    kq::GgufWriter w;
    w.copy_metadata(src);
    w.set("llama.attention.head_count_kv", kq::GgufValue::i32_array(heads));
    for (const kq::GgufTensorInfo& t : src.tensors())
      w.add_tensor(t.name, t.type, std::vector<int64_t>(t.ne.begin(), t.ne.begin() + t.n_dims), t.data);
    const std::string out = tiny_path("cfg-array-out");
    w.write(out);
    return kq::GgufFile::open(out);
  };
  CHECK(kq::ModelConfig::from_gguf(rewrite({2, 2})).n_head_kv == 2);
  CHECK_THROWS_WITH(kq::ModelConfig::from_gguf(rewrite({2, 4})),
                    Catch::Contains("head_count_kv differs between layers"));
  CHECK_THROWS_WITH(kq::ModelConfig::from_gguf(rewrite({2})), Catch::Contains("has 1 entries for 2 layers"));
}

TEST_CASE("model weights: a missing or mis-shaped tensor is named with both shapes", "[model]") {
  TinyModel m = kq::test::make_tiny_model({});
  SECTION("missing") {
    m.tensors.erase("blk.1.ffn_up.weight");
    CHECK_THAT(load_error(m, "err-missing"),
               Catch::Contains("missing tensor blk.1.ffn_up.weight (expected shape [32, 48])"));
  }
  SECTION("mis-shaped") {
    m.tensors["blk.0.attn_k.weight"] = m.tensors["blk.0.attn_q.weight"];
    CHECK_THAT(load_error(m, "err-shape"),
               Catch::Contains("tensor blk.0.attn_k.weight has shape [32, 32], expected [32, 16]"));
  }
  SECTION("qwen2 requires its Q/K/V biases") {
    m = kq::test::make_tiny_model({.arch = "qwen2"});
    m.tensors.erase("blk.0.attn_v.bias");
    CHECK_THAT(load_error(m, "err-bias"), Catch::Contains("missing tensor blk.0.attn_v.bias (expected shape [16])"));
  }
}

TEST_CASE("forward: every architecture variant matches a double-precision reference", "[model]") {
  // F32 weights and cache: only float rounding separates kq from the reference.
  const double tol = 1e-4;
  SECTION("llama, GQA") {
    CHECK(max_logit_error(kq::test::make_tiny_model({}), "fw-llama", 1) < tol);
  }
  SECTION("llama, two threads") {
    CHECK(max_logit_error(kq::test::make_tiny_model({}), "fw-llama2", 2) < tol);
  }
  SECTION("llama, tied output, Llama-3 rope_freqs, linear scaling") {
    TinySpec s;
    s.tied = true;
    s.rope_freqs = true;
    s.rope_factor = 2.0f;
    CHECK(max_logit_error(kq::test::make_tiny_model(s), "fw-llama3", 1) < tol);
  }
  SECTION("qwen2: NEOX pairing and Q/K/V biases") {
    CHECK(max_logit_error(kq::test::make_tiny_model({.arch = "qwen2", .n_head_kv = 4}), "fw-qwen2", 1) < tol);
  }
  SECTION("qwen2, partial rotation, MQA") {
    TinySpec s;
    s.arch = "qwen2";
    s.n_head_kv = 1;
    s.n_rot = 4;
    CHECK(max_logit_error(kq::test::make_tiny_model(s), "fw-qwen2-partial", 2) < tol);
  }
}
