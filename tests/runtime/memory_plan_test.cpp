// Tests for runtime/memory_plan: the plan from a GGUF header equals what Session allocates, and its
// arithmetic matches hand-computed sizes.
#include "runtime/memory_plan.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/error.h"
#include "formats/gguf.h"
#include "runtime/model.h"
#include "runtime/session.h"
#include "tests/support/testdata.h"

namespace {

const kq::Model& load(const std::string& rel) {
  static std::vector<std::pair<std::string, std::unique_ptr<kq::Model>>> models;
  for (const auto& [name, m] : models)
    if (name == rel) return *m;
  models.emplace_back(rel, kq::Model::load(kq::test::testdata_file(rel)));
  return *models.back().second;
}

}  // namespace

TEST_CASE("memory plan: scratch and KV bytes equal what Session allocates", "[model]") {
  for (const std::string rel : {"stories260K.gguf", "quant/synth-tiny-f32.gguf", "quant/synth-tiny-mix-Q4_K_M.gguf",
                                "quant/synth-tiny-pure-Q8_0.gguf", "quant/synth-tiny-pure-IQ4_XS.gguf"}) {
    const kq::Model& model = load(rel);
    // The header read again, independently of the Model: only tensor infos and metadata.
    const kq::ModelHeader header = kq::ModelHeader::from_gguf(kq::GgufFile::open(kq::test::testdata_file(rel)));
    for (const kq::QType cache : {kq::QType::F32, kq::QType::F16, kq::QType::Q8_0}) {
      if (cache == kq::QType::Q8_0 && model.config().head_dim % 32 != 0) continue;
      for (const auto& [n_ctx, n_batch, n_threads] : {std::tuple{0, 512, 1}, std::tuple{64, 16, 3},
                                                      std::tuple{200, 1, 2}, std::tuple{256, 300, 4}}) {
        CAPTURE(rel, kq::type_name(cache), n_ctx, n_batch, n_threads);
        kq::PlanOptions o;
        o.n_ctx = n_ctx;
        o.n_batch = n_batch;
        o.n_threads = n_threads;
        o.cache_type = cache;
        const kq::MemoryPlan plan = kq::plan_memory(header, o);
        const kq::Session session(model, o);
        CHECK(plan.n_ctx == session.n_ctx());
        CHECK(plan.n_batch == session.n_batch());
        CHECK(plan.kv_cache == session.kv_cache().bytes());
        CHECK(plan.buffers.total_bytes() == session.allocated_bytes());
        CHECK(plan.scratch + plan.kv_cache + session.n_vocab() * sizeof(float) == session.allocated_bytes());
        CHECK(plan.weights + plan.embedding_table == model.weight_bytes());
      }
    }
  }
}

TEST_CASE("memory plan: stories260K sizes by hand", "[model]") {
  // stories260K: 5 layers, E=64, H=8, Hkv=4, D=8, F=172, V=512 (formats.md / llama.cpp's print).
  const kq::ModelHeader h = kq::ModelHeader::from_gguf(kq::GgufFile::open(kq::test::testdata_file("stories260K.gguf")));
  const kq::ModelConfig& c = h.config;
  REQUIRE(c.n_layer == 5);
  REQUIRE(c.n_embd == 64);
  REQUIRE(c.n_head_kv == 4);
  REQUIRE(c.head_dim == 8);
  REQUIRE(c.n_ff == 172);
  REQUIRE(c.n_vocab == 512);
  kq::PlanOptions o;
  o.n_ctx = 512;
  o.n_batch = 32;
  o.n_threads = 2;
  o.cache_type = kq::QType::F16;
  const kq::MemoryPlan p = kq::plan_memory(h, o);
  // n_ctx × n_layer × n_kv_head × head_dim × 2 (K and V) × 2 bytes.
  CHECK(p.kv_cache == 512u * 5 * 4 * 8 * 2 * 2);
  o.cache_type = kq::QType::F32;
  CHECK(kq::plan_memory(h, o).kv_cache == 512u * 5 * 4 * 8 * 2 * 4);
  // Activations: x, xb, xo (E), q (H·D = 64), k, v (Hkv·D = 32), att (64), hb, hb2 (F), rope (D) per token.
  CHECK(p.buffers.activation_bytes() == 32u * (3 * 64 + 64 + 32 + 32 + 64 + 2 * 172 + 8) * 4);
  CHECK(p.output == 512u * 4 + 512u * 16);
  // The total is the sum of its parts, and the weights are every tensor's bytes: the file minus its header.
  CHECK(p.total == p.weights + p.embeddings + p.file_header + p.kv_cache + p.scratch + p.output + p.tokenizer + p.overhead);
  const kq::GgufFile f = kq::GgufFile::open(kq::test::testdata_file("stories260K.gguf"));
  CHECK(p.weights + p.embedding_table + p.file_header == f.file_size());
  uint64_t layer_sum = 0;
  for (const kq::LayerPlan& l : p.layers) layer_sum += l.weight_bytes + l.kv_bytes;
  CHECK(layer_sum == p.kv_cache + p.weights + p.embedding_table - (f.find_tensor("token_embd.weight")->nbytes +
                                               f.find_tensor("output_norm.weight")->nbytes +
                                               (f.find_tensor("output.weight") ? f.find_tensor("output.weight")->nbytes : 0)));
}

TEST_CASE("memory plan: a repacked tensor's resident bytes replace its file bytes", "[model]") {
  kq::ModelHeader h = kq::ModelHeader::from_gguf(kq::GgufFile::open(kq::test::testdata_file("stories260K.gguf")));
  const kq::MemoryPlan before = kq::plan_memory(h, {});
  for (kq::PlanTensor& t : h.tensors)
    if (t.name == "blk.0.attn_q.weight") t.resident_bytes += 4096;
  CHECK(kq::plan_memory(h, {}).weights == before.weights + 4096);
}

TEST_CASE("memory plan: an untied embedding table counts the 64 KiB windows its lookups map", "[model]") {
  const kq::ModelHeader h = kq::ModelHeader::from_gguf(kq::GgufFile::open(kq::test::testdata_file("stories260K.gguf")));
  const kq::MemoryPlan full = kq::plan_memory(h, {});
  // stories260K's table is 512 × 64 F32 = 128 KiB: two windows, each hit with probability 1 − (1/2)^n.
  REQUIRE(full.embedding_table == 512u * 64 * 4);
  CHECK(kq::plan_memory(h, {}, 1).embeddings == 64u * 1024);       // ⌈2 · (1 − 1/2)⌉ = 1 window
  CHECK(kq::plan_memory(h, {}, 2).embeddings == 2u * 64 * 1024);   // ⌈2 · 3/4⌉ = 2
  CHECK(full.embeddings == full.embedding_table);
}

TEST_CASE("memory plan: largest fitting context", "[model]") {
  const kq::ModelHeader h = kq::ModelHeader::from_gguf(kq::GgufFile::open(kq::test::testdata_file("stories260K.gguf")));
  kq::PlanOptions o;
  o.n_threads = 2;
  o.n_ctx = 300;
  const uint64_t budget = kq::plan_memory(h, o).total;
  CHECK(kq::largest_fitting_context(h, o, budget, 512) == 300);
  CHECK(kq::largest_fitting_context(h, o, budget - 1, 512) == 299);
  CHECK(kq::largest_fitting_context(h, o, budget, 200) == 200);
  CHECK(kq::largest_fitting_context(h, o, 1000, 512) == 0);
}

TEST_CASE("memory plan: tokenizer estimate counts long strings on the heap", "[model]") {
  // 15 characters fit inside a std::string; 16 need a 32-byte heap chunk.
  const uint64_t short_tokens = kq::tokenizer_bytes({15, 15}, {});
  const uint64_t long_tokens = kq::tokenizer_bytes({16, 16}, {});
  CHECK(long_tokens - short_tokens == 3 * 2 * 32);  // metadata copy, tokenizer text, map key
  CHECK(kq::tokenizer_bytes({}, {}) == 0);
}

TEST_CASE("memory plan: a model without its layer tensors is an error", "[model]") {
  kq::ModelHeader h = kq::ModelHeader::from_gguf(kq::GgufFile::open(kq::test::testdata_file("stories260K.gguf")));
  std::erase_if(h.tensors, [](const kq::PlanTensor& t) { return t.name == "blk.3.ffn_up.weight"; });
  CHECK_THROWS_WITH(kq::plan_memory(h, {}), Catch::Contains("blk.3.ffn_up.weight"));
}
