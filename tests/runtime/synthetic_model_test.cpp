// Tests for runtime/synthetic_model: the named shapes, spec parsing, and a tiny built model's tensors,
// types, data and forward pass.
#include "runtime/synthetic_model.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "common/error.h"
#include "formats/gguf.h"
#include "runtime/model.h"
#include "runtime/session.h"

namespace {

std::string error_of(const std::string& spec) {
  try {
    kq::parse_synthetic_shape(spec);
  } catch (const kq::Error& e) {
    return e.what();
  }
  return "";
}

const char* kTinySpec = "dim=256,layers=2,heads=4,kv_heads=2,ff=512,vocab=300,ctx=64";

}  // namespace

TEST_CASE("synthetic shapes are the documented model bodies", "[synthetic]") {
  const kq::SyntheticShape s1 = kq::parse_synthetic_shape("llama-1b");
  CHECK(s1.n_embd == 2048);
  CHECK(s1.n_layer == 16);
  CHECK(s1.n_head == 32);
  CHECK(s1.n_head_kv == 8);
  CHECK(s1.n_ff == 8192);
  CHECK(s1.n_vocab == 32000);
  CHECK(s1.rope_freq_base == 500000.0f);
  const kq::SyntheticShape s3 = kq::parse_synthetic_shape("llama-3b");
  CHECK(s3.n_embd == 3072);
  CHECK(s3.n_layer == 28);
  CHECK(s3.n_head == 24);
  CHECK(s3.n_head_kv == 8);
  CHECK(s3.head_dim == 128);
  CHECK(s3.n_ff == 8192);
  const kq::SyntheticShape s7 = kq::parse_synthetic_shape("llama-7b");
  CHECK(s7.n_embd == 4096);
  CHECK(s7.n_head_kv == 32);
  CHECK(s7.n_ff == 11008);
  CHECK(s7.rope_freq_base == 10000.0f);
  const kq::SyntheticShape s8 = kq::parse_synthetic_shape("llama-8b");
  CHECK(s8.n_layer == 32);
  CHECK(s8.n_head_kv == 8);
  CHECK(s8.n_ff == 14336);
  for (const kq::SyntheticShape& s : kq::synthetic_shapes()) {
    CHECK(s.n_vocab == 32000);
    CHECK(s.rms_eps == 1e-5f);
  }
}

TEST_CASE("synthetic shape specs parse and bad ones are errors", "[synthetic]") {
  const kq::SyntheticShape s = kq::parse_synthetic_shape(kTinySpec);
  CHECK(s.n_embd == 256);
  CHECK(s.n_layer == 2);
  CHECK(s.n_head_kv == 2);
  CHECK(s.head_dim == 64);
  CHECK(s.n_vocab == 300);
  CHECK(s.n_ctx_train == 64);
  CHECK(kq::parse_synthetic_shape("dim=64,layers=1,heads=4,ff=128").n_head_kv == 4);

  const std::string unknown = error_of("llama-70b");
  CHECK(unknown.find("unknown synthetic shape 'llama-70b'") != std::string::npos);
  for (const char* name : {"llama-1b", "llama-3b", "llama-7b", "llama-8b"})
    CHECK(unknown.find(name) != std::string::npos);
  CHECK(error_of("dim=64,layers=2,heads=4").find("missing ff") != std::string::npos);
  CHECK(error_of("dim=64,layers=2,heads=4,ff=0").find("ff=0") != std::string::npos);
  CHECK(error_of("dim=64,layers=2,heads=4,kv_heads=3,ff=64").find("multiple of kv_heads") != std::string::npos);
  CHECK(error_of("dim=64,layers=2,heads=4,ff=64,colour=7").find("unknown key 'colour'") != std::string::npos);
  CHECK(error_of("dim=64,layers").find("not key=value") != std::string::npos);
}

TEST_CASE("a synthetic model has the shape's tensors, typed and filled", "[synthetic]") {
  kq::SyntheticOptions o;
  o.file_type = kq::FileType::kQ8_0;
  const auto model = kq::build_synthetic_model(kq::parse_synthetic_shape(kTinySpec), o);
  const kq::ModelConfig& c = model->config();
  CHECK(c.arch == "llama");
  CHECK(c.n_embd == 256);
  CHECK(c.n_layer == 2);
  CHECK(c.n_head == 4);
  CHECK(c.n_head_kv == 2);
  CHECK(c.n_ff == 512);
  CHECK(c.n_vocab == 300);
  CHECK(c.head_dim == 64);
  CHECK(c.rms_eps == 1e-5f);
  CHECK(model->gguf().get_int("general.file_type", -1) == 7);
  CHECK_FALSE(model->weights().tied_output);

  const auto& tensors = model->gguf().tensors();
  CHECK(tensors.size() == 3 + 9 * 2);
  const kq::GgufTensorInfo* k = model->gguf().find_tensor("blk.1.attn_k.weight");
  REQUIRE(k);
  CHECK(k->ne[0] == 256);
  CHECK(k->ne[1] == 128);
  const kq::GgufTensorInfo* down = model->gguf().find_tensor("blk.0.ffn_down.weight");
  REQUIRE(down);
  CHECK(down->ne[0] == 512);
  CHECK(down->ne[1] == 256);
  REQUIRE(model->gguf().find_tensor("output.weight"));
  CHECK(model->gguf().find_tensor("output.weight")->ne[1] == 300);

  for (const kq::GgufTensorInfo& t : tensors) {
    INFO(t.name);
    CHECK(reinterpret_cast<uintptr_t>(t.data) % 64 == 0);
    std::vector<float> row(size_t(t.ne[0]));
    if (t.n_dims == 1) {
      CHECK(t.type == kq::QType::F32);
      CHECK(std::memcmp(t.data, std::vector<float>(row.size(), 1.0f).data(), row.size() * 4) == 0);
      continue;
    }
    CHECK(t.type == kq::QType::Q8_0);  // the Q8_0 mix gives every weight Q8_0
    // Every row decodes to finite, non-zero values of about the intended scale, and rows differ.
    const size_t rb = kq::row_size(t.type, t.ne[0]);
    bool rows_differ = false;
    for (int64_t r = 0; r < t.ne[1]; ++r) {
      kq::type_traits(t.type).to_float(t.data + size_t(r) * rb, row.data(), t.ne[0]);
      double sq = 0;
      for (const float x : row) sq += double(x) * x;
      const double rms = std::sqrt(sq / double(row.size()));
      REQUIRE(std::isfinite(rms));
      CHECK(rms > 0.3 / std::sqrt(double(t.ne[0])));
      CHECK(rms < 3.0 / std::sqrt(double(t.ne[0])));
      if (r > 0 && std::memcmp(t.data, t.data + size_t(r) * rb, rb) != 0) rows_differ = true;
    }
    CHECK(rows_differ);
  }

  kq::Session s(*model, {32, 8, 1, kq::QType::F16});
  s.eval({1, 2, 3, 299});
  s.eval({7});
  for (int v = 0; v < c.n_vocab; ++v) REQUIRE(std::isfinite(s.logits()[v]));
}

TEST_CASE("a synthetic Q4_K_M model has the types kq quantize would give it", "[synthetic]") {
  const kq::SyntheticShape shape = kq::parse_synthetic_shape(kTinySpec);
  const auto model = kq::build_synthetic_model(shape, {});  // Q4_K_M by default
  CHECK(model->gguf().get_int("general.file_type", -1) == 15);
  std::vector<kq::MixTensor> list;
  for (const kq::GgufTensorInfo& t : model->gguf().tensors()) {
    kq::MixTensor m;
    m.name = t.name;
    m.ne = t.ne;
    m.n_dims = int(t.n_dims);
    m.type = t.n_dims == 1 ? kq::QType::F32 : kq::QType::F16;
    list.push_back(m);
  }
  kq::MixModel mm;
  mm.n_layer = 2;
  mm.n_head = 4;
  mm.n_head_kv = 2;
  const auto plan = kq::plan_mix(kq::FileType::kQ4_K_M, mm, list);
  std::map<kq::QType, int> seen;
  for (size_t i = 0; i < list.size(); ++i) {
    INFO(list[i].name);
    const kq::QType got = model->gguf().tensors()[i].type;
    CHECK(got == plan[i].value_or(list[i].type));
    ++seen[got];
  }
  // The mix really is a mix: Q4_K for most weights, Q6_K for the output (llama.cpp's rule), F32 norms.
  CHECK(model->gguf().find_tensor("output.weight")->type == kq::QType::Q6_K);
  CHECK(model->gguf().find_tensor("blk.0.ffn_gate.weight")->type == kq::QType::Q4_K);
  CHECK(seen[kq::QType::F32] == 2 * 2 + 1);
}

TEST_CASE("synthetic models are deterministic in their seed", "[synthetic]") {
  const kq::SyntheticShape shape = kq::parse_synthetic_shape("dim=64,layers=1,heads=2,ff=128,vocab=40");
  kq::SyntheticOptions o;
  o.file_type = kq::FileType::kQ4_0;
  const auto a = kq::build_synthetic_model(shape, o);
  const auto b = kq::build_synthetic_model(shape, o);
  o.seed = 2;
  const auto c = kq::build_synthetic_model(shape, o);
  const kq::GgufTensorInfo* ta = a->gguf().find_tensor("blk.0.ffn_up.weight");
  const kq::GgufTensorInfo* tb = b->gguf().find_tensor("blk.0.ffn_up.weight");
  const kq::GgufTensorInfo* tc = c->gguf().find_tensor("blk.0.ffn_up.weight");
  REQUIRE((ta && tb && tc));
  CHECK(ta->type == kq::QType::Q4_0);
  CHECK(std::memcmp(ta->data, tb->data, ta->nbytes) == 0);
  CHECK(std::memcmp(ta->data, tc->data, ta->nbytes) != 0);
  CHECK(a->weight_bytes() == b->weight_bytes());
}

TEST_CASE("synthetic models build for every file type and run", "[synthetic]") {
  const kq::SyntheticShape shape = kq::parse_synthetic_shape("dim=256,layers=1,heads=2,ff=256,vocab=32");
  for (const kq::FileType ft : kq::all_file_types()) {
    INFO(kq::file_type_name(ft));
    kq::SyntheticOptions o;
    o.file_type = ft;
    const auto model = kq::build_synthetic_model(shape, o);
    CHECK(model->weights().layers[0].w_up.type == kq::file_type_base(ft));
    kq::Session s(*model, {8, 8, 1, kq::QType::F16});
    s.eval({1, 2, 3});
    for (int v = 0; v < 32; ++v) REQUIRE(std::isfinite(s.logits()[v]));
  }
}
