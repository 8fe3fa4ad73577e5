// plan_mix on model shapes the tiny test files cannot show: 32/80 layers, GQA, MoE, odd rows, options.
#include <catch2/catch.hpp>
#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "quant/mix.h"

namespace {

using kq::FileType;
using kq::MixModel;
using kq::MixOptions;
using kq::MixTensor;
using kq::QType;

MixTensor weight(const std::string& name, int64_t ne0, int64_t ne1, int64_t ne2 = 1) {
  return {name, {ne0, ne1, ne2, 1}, ne2 > 1 ? 3 : 2, QType::F16};
}
MixTensor vector1d(const std::string& name, int64_t ne0) { return {name, {ne0, 1, 1, 1}, 1, QType::F32}; }

// A llama-shaped model: dim, ffn, heads (head dim 128), optional tied output.
struct Shape {
  int n_layer = 32;
  int64_t dim = 4096, ffn = 14336, vocab = 32000;
  int n_head = 32, n_head_kv = 8;
  int n_expert = 0;
  bool tied = false;
};

std::vector<MixTensor> llama_tensors(const Shape& s) {
  std::vector<MixTensor> t;
  const int64_t kv = s.dim / s.n_head * s.n_head_kv;
  t.push_back(weight("token_embd.weight", s.dim, s.vocab));
  for (int i = 0; i < s.n_layer; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    t.push_back(vector1d(b + "attn_norm.weight", s.dim));
    t.push_back(weight(b + "attn_q.weight", s.dim, s.dim));
    t.push_back(weight(b + "attn_k.weight", s.dim, kv));
    t.push_back(weight(b + "attn_v.weight", s.dim, kv));
    t.push_back(weight(b + "attn_output.weight", s.dim, s.dim));
    t.push_back(vector1d(b + "ffn_norm.weight", s.dim));
    if (s.n_expert > 0) {
      t.push_back(weight(b + "ffn_gate_inp.weight", s.dim, s.n_expert));
      t.push_back(weight(b + "ffn_gate_exps.weight", s.dim, s.ffn, s.n_expert));
      t.push_back(weight(b + "ffn_up_exps.weight", s.dim, s.ffn, s.n_expert));
      t.push_back(weight(b + "ffn_down_exps.weight", s.ffn, s.dim, s.n_expert));
    } else {
      t.push_back(weight(b + "ffn_gate.weight", s.dim, s.ffn));
      t.push_back(weight(b + "ffn_up.weight", s.dim, s.ffn));
      t.push_back(weight(b + "ffn_down.weight", s.ffn, s.dim));
    }
  }
  t.push_back(vector1d("output_norm.weight", s.dim));
  if (!s.tied) t.push_back(weight("output.weight", s.dim, s.vocab));
  return t;
}

MixModel model_of(const Shape& s) {
  MixModel m;
  m.n_layer = s.n_layer;
  m.n_head = s.n_head;
  m.n_head_kv = s.n_head_kv;
  m.n_expert = s.n_expert;
  return m;
}

// name -> planned type name ("-" for copied tensors).
std::map<std::string, std::string> plan_by_name(FileType ft, const Shape& s, const MixOptions& o = {},
                                                std::vector<MixTensor> tensors = {}) {
  if (tensors.empty()) tensors = llama_tensors(s);
  const auto plan = kq::plan_mix(ft, model_of(s), tensors, o);
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < tensors.size(); ++i) out[tensors[i].name] = plan[i] ? kq::type_name(*plan[i]) : "-";
  return out;
}

std::string layer(int i, const char* what) { return "blk." + std::to_string(i) + "." + what + ".weight"; }

// formats.md C.5: use_more_bits selects these layers of 32.
const std::set<int> kMoreBits32 = {0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31};

}  // namespace

TEST_CASE("file type names, aliases and numbers", "[quant][mix]") {
  CHECK(kq::parse_file_type("Q4_K_M") == FileType::kQ4_K_M);
  CHECK(kq::parse_file_type("q4_k_m") == FileType::kQ4_K_M);
  CHECK(kq::parse_file_type("iq4_xs") == FileType::kIQ4_XS);
  CHECK(kq::parse_file_type("Q4_K") == FileType::kQ4_K_S);
  CHECK(kq::parse_file_type("15") == FileType::kQ4_K_M);
  CHECK(kq::parse_file_type("32") == FileType::kBF16);
  CHECK_FALSE(kq::parse_file_type("Q4_K_X"));
  CHECK_FALSE(kq::parse_file_type("4"));  // removed from llama_ftype
  CHECK_FALSE(kq::parse_file_type("Q8_K"));
  CHECK_FALSE(kq::parse_file_type(""));
  for (FileType ft : kq::all_file_types()) {
    INFO(kq::file_type_name(ft));
    CHECK(kq::parse_file_type(kq::file_type_name(ft)) == ft);
    CHECK(kq::file_type_label(static_cast<int64_t>(ft)) == kq::file_type_name(ft));
  }
  CHECK(kq::all_file_types().size() == 20);
  CHECK(kq::file_type_base(FileType::kQ3_K_L) == QType::Q3_K);
  CHECK(kq::file_type_base(FileType::kQ2_K_S) == QType::Q2_K);
  CHECK(kq::file_type_base(FileType::kF32) == QType::F32);
  CHECK(kq::file_type_label(19) == "IQ2_XXS");
  CHECK(kq::file_type_label(4) == "unknown (4)");
}

TEST_CASE("Q4_K_M and Q5_K_M on a 32-layer GQA-4 llama bump attn_v and ffn_down on use_more_bits layers",
          "[quant][mix]") {
  const Shape s;
  for (FileType ft : {FileType::kQ4_K_M, FileType::kQ5_K_M}) {
    const std::string base = ft == FileType::kQ4_K_M ? "Q4_K" : "Q5_K";
    auto p = plan_by_name(ft, s);
    CHECK(p["token_embd.weight"] == base);
    CHECK(p["output.weight"] == "Q6_K");
    CHECK(p["output_norm.weight"] == "-");
    for (int i = 0; i < 32; ++i) {
      INFO("layer " << i);
      const std::string bumped = kMoreBits32.count(i) ? "Q6_K" : base;
      CHECK(p[layer(i, "attn_v")] == bumped);
      CHECK(p[layer(i, "ffn_down")] == bumped);
      CHECK(p[layer(i, "attn_q")] == base);
      CHECK(p[layer(i, "attn_k")] == base);
      CHECK(p[layer(i, "attn_output")] == base);
      CHECK(p[layer(i, "ffn_gate")] == base);
      CHECK(p[layer(i, "ffn_up")] == base);
      CHECK(p[layer(i, "attn_norm")] == "-");
    }
  }
}

TEST_CASE("the visiting order, not the file order, drives the layer counters", "[quant][mix]") {
  const Shape s;
  std::vector<MixTensor> shuffled = llama_tensors(s);
  std::mt19937 rng(7);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  CHECK(plan_by_name(FileType::kQ4_K_M, s, {}, shuffled) == plan_by_name(FileType::kQ4_K_M, s));
}

TEST_CASE("Q2_K: attn_v by GQA, ffn_down and attn_output Q3_K", "[quant][mix]") {
  Shape gqa4;  // 32 / 8 = 4
  auto p = plan_by_name(FileType::kQ2_K, gqa4);
  CHECK(p[layer(5, "attn_v")] == "Q4_K");
  CHECK(p[layer(5, "ffn_down")] == "Q3_K");
  CHECK(p[layer(5, "attn_output")] == "Q3_K");
  CHECK(p[layer(5, "ffn_up")] == "Q2_K");
  CHECK(p["token_embd.weight"] == "Q2_K");
  CHECK(p["output.weight"] == "Q6_K");
  Shape mha;
  mha.n_head_kv = 32;
  CHECK(plan_by_name(FileType::kQ2_K, mha)[layer(5, "attn_v")] == "Q3_K");
  // Q2_K_S: attn_v Q4_K only with GQA >= 4; ffn_down Q4_K for the first eighth.
  auto ps = plan_by_name(FileType::kQ2_K_S, gqa4);
  CHECK(ps[layer(5, "attn_v")] == "Q4_K");
  CHECK(ps[layer(3, "ffn_down")] == "Q4_K");
  CHECK(ps[layer(4, "ffn_down")] == "Q2_K");
  CHECK(ps[layer(4, "attn_output")] == "Q2_K");
  CHECK(plan_by_name(FileType::kQ2_K_S, mha)[layer(5, "attn_v")] == "Q2_K");
}

TEST_CASE("Q3_K mixes", "[quant][mix]") {
  const Shape s;
  auto m = plan_by_name(FileType::kQ3_K_M, s);
  CHECK(m[layer(0, "attn_v")] == "Q5_K");
  CHECK(m[layer(1, "attn_v")] == "Q5_K");
  CHECK(m[layer(2, "attn_v")] == "Q4_K");
  CHECK(m[layer(1, "ffn_down")] == "Q5_K");  // i < 32/16
  CHECK(m[layer(2, "ffn_down")] == "Q4_K");
  CHECK(m[layer(2, "attn_output")] == "Q4_K");
  CHECK(m[layer(2, "attn_q")] == "Q3_K");
  auto l = plan_by_name(FileType::kQ3_K_L, s);
  CHECK(l[layer(9, "attn_v")] == "Q5_K");
  CHECK(l[layer(9, "ffn_down")] == "Q5_K");
  CHECK(l[layer(9, "attn_output")] == "Q5_K");
  CHECK(l[layer(9, "ffn_gate")] == "Q3_K");
  auto sm = plan_by_name(FileType::kQ3_K_S, s);
  CHECK(sm[layer(0, "attn_v")] == "Q3_K");
  CHECK(sm[layer(0, "ffn_down")] == "Q3_K");
  CHECK(sm["output.weight"] == "Q6_K");
}

TEST_CASE("Q4_K_S, Q5_K_S, Q6_K, Q8_0 and the legacy mixes", "[quant][mix]") {
  const Shape s;
  auto k4 = plan_by_name(FileType::kQ4_K_S, s);
  CHECK(k4[layer(3, "attn_v")] == "Q5_K");
  CHECK(k4[layer(4, "attn_v")] == "Q4_K");
  CHECK(k4[layer(3, "ffn_down")] == "Q5_K");
  CHECK(k4[layer(4, "ffn_down")] == "Q4_K");
  CHECK(plan_by_name(FileType::kQ5_K_S, s)[layer(0, "attn_v")] == "Q5_K");
  CHECK(plan_by_name(FileType::kQ6_K, s)[layer(0, "ffn_down")] == "Q6_K");
  auto q8 = plan_by_name(FileType::kQ8_0, s);
  CHECK(q8["output.weight"] == "Q8_0");
  CHECK(q8["token_embd.weight"] == "Q8_0");
  CHECK(q8[layer(0, "attn_v")] == "Q8_0");
  for (FileType ft : {FileType::kQ4_0, FileType::kQ4_1, FileType::kQ5_0, FileType::kQ5_1}) {
    auto p = plan_by_name(ft, s);
    const std::string base = kq::type_name(kq::file_type_base(ft));
    CHECK(p["output.weight"] == "Q6_K");  // legacy mixes get a Q6_K output too
    CHECK(p["token_embd.weight"] == base);
    CHECK(p[layer(0, "ffn_down")] == base);
    CHECK(p[layer(31, "attn_v")] == base);
  }
  // With an imatrix, Q4_0 / Q5_0 guard the first eighth of ffn_down with Q4_1 / Q5_1.
  MixOptions im;
  im.has_imatrix = true;
  CHECK(plan_by_name(FileType::kQ4_0, s, im)[layer(3, "ffn_down")] == "Q4_1");
  CHECK(plan_by_name(FileType::kQ4_0, s, im)[layer(4, "ffn_down")] == "Q4_0");
  CHECK(plan_by_name(FileType::kQ5_0, s, im)[layer(0, "ffn_down")] == "Q5_1");
  CHECK(plan_by_name(FileType::kQ4_1, s, im)[layer(0, "ffn_down")] == "Q4_1");
}

TEST_CASE("IQ4 mixes: attn_v Q5_K with GQA >= 4, ffn_down Q5_K early without an imatrix", "[quant][mix]") {
  const Shape s;
  for (FileType ft : {FileType::kIQ4_NL, FileType::kIQ4_XS}) {
    const std::string base = kq::type_name(kq::file_type_base(ft));
    auto p = plan_by_name(ft, s);
    CHECK(p[layer(10, "attn_v")] == "Q5_K");
    CHECK(p[layer(3, "ffn_down")] == "Q5_K");
    CHECK(p[layer(4, "ffn_down")] == base);
    CHECK(p["output.weight"] == "Q6_K");
    MixOptions im;
    im.has_imatrix = true;
    CHECK(plan_by_name(ft, s, im)[layer(3, "ffn_down")] == base);
  }
  Shape mha;
  mha.n_head_kv = 32;
  CHECK(plan_by_name(FileType::kIQ4_XS, mha)[layer(10, "attn_v")] == "IQ4_XS");
}

TEST_CASE("float file types keep every weight in that type, output included", "[quant][mix]") {
  const Shape s;
  for (FileType ft : {FileType::kF16, FileType::kBF16, FileType::kF32}) {
    const std::string base = kq::type_name(kq::file_type_base(ft));
    auto p = plan_by_name(ft, s);
    CHECK(p["output.weight"] == base);
    CHECK(p[layer(0, "attn_v")] == base);
    CHECK(p["output_norm.weight"] == "-");
  }
}

TEST_CASE("tied embeddings are quantized as the output", "[quant][mix]") {
  Shape s;
  s.tied = true;
  CHECK(plan_by_name(FileType::kQ4_K_M, s)["token_embd.weight"] == "Q6_K");
  CHECK(plan_by_name(FileType::kQ8_0, s)["token_embd.weight"] == "Q8_0");
  CHECK(plan_by_name(FileType::kQ4_0, s)["token_embd.weight"] == "Q6_K");
  MixOptions o;
  o.output_type = QType::Q5_K;
  CHECK(plan_by_name(FileType::kQ4_K_M, s, o)["token_embd.weight"] == "Q5_K");
  o.token_embd_type = QType::Q8_0;  // the embedding option wins for the embedding
  CHECK(plan_by_name(FileType::kQ4_K_M, s, o)["token_embd.weight"] == "Q8_0");
}

TEST_CASE("rows that are not whole blocks fall back", "[quant][mix]") {
  Shape s;
  s.n_layer = 8;
  s.dim = 2880;  // 11.25 blocks of 256, 90 blocks of 32
  s.n_head = 45;
  s.n_head_kv = 9;
  s.ffn = 7680;
  auto p = plan_by_name(FileType::kQ4_K_M, s);
  CHECK(p["output.weight"] == "Q8_0");  // output rows not whole super-blocks
  CHECK(p["token_embd.weight"] == "Q5_0");
  CHECK(p[layer(1, "attn_q")] == "Q5_0");
  CHECK(p[layer(0, "attn_v")] == "Q8_0");    // Q6_K -> Q8_0
  CHECK(p[layer(1, "attn_v")] == "Q5_0");    // Q4_K -> Q5_0
  CHECK(p[layer(0, "ffn_down")] == "Q6_K");  // 7680 = 30 blocks: fine
  auto q3 = plan_by_name(FileType::kQ3_K_M, s);
  CHECK(q3[layer(1, "attn_q")] == "IQ4_NL");
  CHECK(q3[layer(0, "attn_v")] == "Q5_1");  // Q5_K -> Q5_1
  CHECK(plan_by_name(FileType::kIQ4_XS, s)[layer(1, "attn_q")] == "IQ4_NL");
  // Not even whole blocks of 32: F16.
  std::vector<MixTensor> odd = {weight("blk.0.attn_q.weight", 100, 64), weight("output.weight", 100, 64)};
  Shape one;
  one.n_layer = 1;
  auto po = plan_by_name(FileType::kQ4_K_M, one, {}, odd);
  CHECK(po["blk.0.attn_q.weight"] == "F16");
  CHECK(po["output.weight"] == "F16");
  MixOptions pure;
  pure.pure = true;
  CHECK(plan_by_name(FileType::kQ4_0, one, pure, odd)["blk.0.attn_q.weight"] == "F16");
  CHECK(kq::row_fallback(QType::Q2_K, 288) == QType::IQ4_NL);
  CHECK(kq::row_fallback(QType::Q6_K, 256) == QType::Q6_K);
  CHECK(kq::row_fallback(QType::Q8_0, 48) == QType::F16);
}

TEST_CASE("8-expert MoE: attn_v and attn_k Q8_0, attn_output Q5_K, ffn_down layer from the name",
          "[quant][mix]") {
  Shape s;
  s.n_expert = 8;
  s.ffn = 14336;
  auto p = plan_by_name(FileType::kQ4_K_M, s);
  CHECK(p[layer(7, "attn_v")] == "Q8_0");
  CHECK(p[layer(7, "attn_k")] == "Q8_0");
  CHECK(p[layer(7, "attn_q")] == "Q4_K");
  CHECK(p[layer(7, "attn_output")] == "Q5_K");
  CHECK(p[layer(7, "ffn_gate_inp")] == "-");  // the router stays as it is
  for (int i = 0; i < 32; ++i) {
    INFO("layer " << i);
    CHECK(p[layer(i, "ffn_down_exps")] == (kMoreBits32.count(i) ? "Q6_K" : "Q4_K"));
    CHECK(p[layer(i, "ffn_up_exps")] == "Q4_K");
  }
  CHECK(plan_by_name(FileType::kQ5_K_M, s)[layer(7, "attn_output")] == "Q5_K");  // not in the list
  // A MoE ffn tensor outside blk.N. cannot be placed.
  std::vector<MixTensor> bad = llama_tensors(s);
  bad.push_back(weight("extra.ffn_down_exps.weight", 14336, 4096, 8));
  CHECK_THROWS_AS(kq::plan_mix(FileType::kQ4_K_M, model_of(s), bad), kq::Error);
}

TEST_CASE("70B-class llama: attn_v Q3_K/Q4_K become Q5_K", "[quant][mix]") {
  Shape s;
  s.n_layer = 80;
  s.dim = 8192;
  s.n_head = 64;
  s.n_head_kv = 8;
  s.ffn = 28672;
  auto p = plan_by_name(FileType::kQ4_K_S, s);
  CHECK(p[layer(40, "attn_v")] == "Q5_K");
  CHECK(p[layer(40, "attn_q")] == "Q4_K");
  CHECK(plan_by_name(FileType::kQ3_K_S, s)[layer(40, "attn_v")] == "Q5_K");
  auto m = plan_by_name(FileType::kQ4_K_M, s);
  CHECK(m[layer(12, "attn_v")] == "Q6_K");  // use_more_bits: (12 - 80/8) % 3 == 2
  CHECK(m[layer(11, "attn_v")] == "Q5_K");  // Q4_K, bumped
  Shape mha = s;
  mha.n_head_kv = 64;  // llama.cpp calls an 80-layer llama without GQA 65B
  CHECK(plan_by_name(FileType::kQ4_K_S, mha)[layer(40, "attn_v")] == "Q4_K");
}

TEST_CASE("falcon tables", "[quant][mix]") {
  Shape s;
  s.n_layer = 32;
  std::vector<MixTensor> t = llama_tensors(s);
  MixModel m = model_of(s);
  m.arch = "falcon";
  const auto plan = kq::plan_mix(FileType::kQ4_K_M, m, t);
  std::map<std::string, std::string> p;
  for (size_t i = 0; i < t.size(); ++i) p[t[i].name] = plan[i] ? kq::type_name(*plan[i]) : "-";
  CHECK(p["output.weight"] == "Q8_0");
  CHECK(p[layer(1, "ffn_down")] == "Q6_K");  // i < n/16
  CHECK(p[layer(3, "ffn_down")] == "Q5_K");  // use_more_bits
  CHECK(p[layer(4, "ffn_down")] == "Q4_K");
}

TEST_CASE("plan_mix: --pure and the user's overrides", "[quant][mix]") {
  const Shape s;
  MixOptions pure;
  pure.pure = true;
  auto p = plan_by_name(FileType::kQ4_K_M, s, pure);
  CHECK(p["output.weight"] == "Q4_K");
  CHECK(p[layer(0, "attn_v")] == "Q4_K");
  CHECK(p["output_norm.weight"] == "-");
  pure.output_type = QType::Q8_0;  // the output and embedding options still apply
  pure.token_embd_type = QType::Q6_K;
  p = plan_by_name(FileType::kQ4_K_M, s, pure);
  CHECK(p["output.weight"] == "Q8_0");
  CHECK(p["token_embd.weight"] == "Q6_K");

  MixOptions o;
  o.tensor_types = {{"attn_v", QType::Q8_0}, {"blk\\.1\\..*", QType::Q2_K}, {"attn", QType::Q5_K}};
  p = plan_by_name(FileType::kQ4_K_M, s, o);
  CHECK(p[layer(1, "attn_v")] == "Q8_0");  // first match wins
  CHECK(p[layer(1, "ffn_up")] == "Q2_K");
  CHECK(p[layer(2, "attn_q")] == "Q5_K");  // regex search, not a full match
  CHECK(p[layer(2, "ffn_up")] == "Q4_K");
  CHECK(p[layer(2, "attn_norm")] == "-");  // never quantized, whatever the pattern

  MixOptions bad;
  bad.tensor_types = {{"attn_(v", QType::Q8_0}};
  CHECK_THROWS_AS(plan_by_name(FileType::kQ4_K_M, s, bad), kq::Error);
}

TEST_CASE("llama_tensor_order: non-block tensors first, then by layer number, by name within each",
          "[quant][mix]") {
  const std::vector<MixTensor> t = {weight("blk.10.attn_q.weight", 32, 32), weight("token_embd.weight", 32, 32),
                                    weight("blk.2.ffn_up.weight", 32, 32),  weight("blk.2.attn_k.weight", 32, 32),
                                    vector1d("output_norm.weight", 32),     weight("output.weight", 32, 32)};
  std::vector<std::string> names;
  for (size_t i : kq::llama_tensor_order(t)) names.push_back(t[i].name);
  CHECK(names == std::vector<std::string>{"output.weight", "output_norm.weight", "token_embd.weight",
                                          "blk.2.attn_k.weight", "blk.2.ffn_up.weight", "blk.10.attn_q.weight"});
}
