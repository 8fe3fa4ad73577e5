// runtime/imatrix_collector: the sums it collects over perplexity chunks against a direct computation.
#include "runtime/imatrix_collector.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "runtime/model.h"
#include "runtime/model_config.h"
#include "runtime/perplexity.h"
#include "runtime/tokenizer.h"
#include "tests/support/testdata.h"

namespace {

constexpr int kCtx = 64, kChunks = 2;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The tokens each chunk evaluates: the text with BOS, each chunk's first token replaced by BOS.
std::vector<int32_t> evaluated_tokens(const std::vector<int32_t>& text, int32_t bos) {
  std::vector<int32_t> out(text.begin(), text.begin() + kCtx * kChunks);
  for (int c = 0; c < kChunks; ++c) out[size_t(c * kCtx)] = bos;
  return out;
}

// Σ over tokens of the layer-0 attention input squared, per column, computed straight from the
// weights: RMSNorm(token_embd row) · attn_norm, in double.
std::vector<double> layer0_attention_input_sum2(const kq::Model& m, const std::vector<int32_t>& tokens) {
  const kq::GgufFile& f = m.gguf();
  const kq::GgufTensorInfo* embd = f.find_tensor("token_embd.weight");
  const kq::GgufTensorInfo* norm = f.find_tensor("blk.0.attn_norm.weight");
  REQUIRE(embd->type == kq::QType::F32);
  const int64_t n = embd->ne[0];
  const float* e = reinterpret_cast<const float*>(embd->data);
  const float* g = reinterpret_cast<const float*>(norm->data);
  std::vector<double> sum2(size_t(n), 0.0);
  for (int32_t id : tokens) {
    const float* row = e + size_t(id) * size_t(n);
    double ms = 0;
    for (int64_t k = 0; k < n; ++k) ms += double(row[k]) * double(row[k]);
    const double inv = 1.0 / std::sqrt(ms / double(n) + double(m.config().rms_eps));
    for (int64_t k = 0; k < n; ++k) {
      const double y = double(row[k]) * inv * double(g[k]);
      sum2[size_t(k)] += y * y;
    }
  }
  return sum2;
}

}  // namespace

TEST_CASE("imatrix collector: stories260K sums match a direct computation and the invariants", "[runtime]") {
  const auto model = kq::Model::load(kq::test::testdata_file("stories260K.gguf"));
  const auto tok = kq::Tokenizer::from_gguf(model->gguf());
  const std::vector<int32_t> text =
      tok->encode(read_file(kq::test::testdata_file("tinytext.txt")), /*add_special=*/true);
  REQUIRE(text.size() >= size_t(kCtx * kChunks));
  REQUIRE(tok->add_bos());

  const bool include_output = GENERATE(false, true);
  CAPTURE(include_output);
  kq::ImatrixCollector collector(*model, include_output);
  kq::PerplexityOptions o;
  o.n_ctx = kCtx;
  o.n_chunks = kChunks;
  o.n_batch = 16;  // several batches per chunk: the sums must add up across them
  o.n_threads = 2;
  o.bos_id = tok->bos();
  o.observer = &collector;
  kq::perplexity(*model, text, o);
  const kq::ImatrixSums s = collector.sums();

  // Every block matmul weight (5 layers × 7), plus output.weight only when asked for.
  CHECK(s.entries.size() == size_t(5 * 7 + (include_output ? 1 : 0)));
  CHECK(s.entries.count("output.weight") == (include_output ? 1u : 0u));
  CHECK(s.entries.count("token_embd.weight") == 0);
  for (const auto& [name, e] : s.entries) {
    INFO(name);
    // Each evaluated token passes every weight once (the perplexity run keeps every logits row).
    CHECK(e.counts == std::vector<float>{float(kCtx * kChunks)});
    CHECK(int64_t(e.in_sum2.size()) == model->gguf().find_tensor(name)->ne[0]);
    for (float v : e.in_sum2) CHECK(v >= 0.0f);
  }
  for (int il = 0; il < 5; ++il) {
    const std::string b = "blk." + std::to_string(il) + ".";
    // Q, K and V read the same normalized input, gate and up too.
    CHECK(s.entries.at(b + "attn_k.weight").in_sum2 == s.entries.at(b + "attn_q.weight").in_sum2);
    CHECK(s.entries.at(b + "attn_v.weight").in_sum2 == s.entries.at(b + "attn_q.weight").in_sum2);
    CHECK(s.entries.at(b + "ffn_up.weight").in_sum2 == s.entries.at(b + "ffn_gate.weight").in_sum2);
  }

  // Layer 0's attention input depends only on the embeddings, so it can be computed directly.
  const std::vector<double> want = layer0_attention_input_sum2(*model, evaluated_tokens(text, tok->bos()));
  const std::vector<float>& got = s.entries.at("blk.0.attn_q.weight").in_sum2;
  REQUIRE(got.size() == want.size());
  for (size_t k = 0; k < want.size(); ++k) {
    INFO("column " << k);
    // Float RMSNorm against double: a few float roundings per element, summed over 128 tokens.
    CHECK(double(got[k]) == Approx(want[k]).epsilon(1e-5));
  }
}

TEST_CASE("imatrix collector: a session without an observer collects nothing", "[runtime]") {
  const auto model = kq::Model::load(kq::test::testdata_file("stories260K.gguf"));
  kq::ImatrixCollector collector(*model);
  kq::Session session(*model, {kCtx});
  session.eval({1, 20, 30, 40});
  CHECK(collector.sums().entries.empty());
  session.set_matmul_observer(&collector);
  session.eval({50, 60});
  const kq::ImatrixSums s = collector.sums();
  CHECK(s.entries.size() == 35);
  CHECK(s.entries.at("blk.4.ffn_down.weight").counts == std::vector<float>{2.0f});
}

// The collector finds a weight by its data pointer into the file. kq imatrix loads without
// repacking, but a repacked model (LoadOptions::repack) must keep those pointers too: every weight
// is still seen, with the sums of the unrepacked run.
TEST_CASE("imatrix collector: a repacked model still has every weight collected", "[runtime]") {
  const std::string path = kq::test::testdata_file("quant/synth-tiny-pure-Q8_0.gguf");
  const auto collect = [&](bool repack, int* repacked_tensors) {
    kq::LoadOptions load;
    load.repack = repack;
    const auto model = kq::Model::load(path, load);
    *repacked_tensors = model->repacked_tensors();
    const auto tok = kq::Tokenizer::from_gguf(model->gguf());
    const std::vector<int32_t> text =
        tok->encode(read_file(kq::test::testdata_file("tinytext.txt")), /*add_special=*/true);
    kq::ImatrixCollector collector(*model);
    kq::PerplexityOptions o;
    o.n_ctx = kCtx;
    o.n_chunks = kChunks;
    o.n_threads = 1;
    o.bos_id = tok->add_bos() ? tok->bos() : -1;
    o.observer = &collector;
    kq::perplexity(*model, text, o);
    return collector.sums();
  };
  int plain_repacked = -1, repacked = -1;
  const kq::ImatrixSums a = collect(false, &plain_repacked), b = collect(true, &repacked);
  CHECK(plain_repacked == 0);
  INFO("repacked tensors: " << repacked);  // 0 where the kernel table has no repacked kernel
  REQUIRE(a.entries.size() == 2 * 7);      // 2 layers × 7 weights
  REQUIRE(b.entries.size() == a.entries.size());
  for (const auto& [name, e] : a.entries) {
    INFO(name);
    REQUIRE(b.entries.count(name) == 1);
    const kq::ImatrixSums::Entry& f = b.entries.at(name);
    CHECK(f.counts == e.counts);
    REQUIRE(f.in_sum2.size() == e.in_sum2.size());
    // Same int8 products, float steps in another order: the repacked kernel follows the reference,
    // the unrepacked prefill GEMM combines Q8_0H's two half sums as d·(s0·da0 + s1·da1). The
    // rounding differences flip some 8-bit activation roundings in later layers, which moves a
    // column's sum by up to 1.6% (measured; most by < 1e-3); a missed weight has no entry and a
    // doubled one would be off by 100%.
    for (size_t k = 0; k < e.in_sum2.size(); ++k) CHECK(f.in_sum2[k] == Approx(e.in_sum2[k]).epsilon(0.03));
  }
}
