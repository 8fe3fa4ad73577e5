// Conformance: plan_mix picks the same type for every tensor as llama-quantize did for synth-tiny-mix-*/pure-*.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "quant/mix.h"
#include "tests/support/testdata.h"

namespace {

kq::MixModel model_of(const kq::GgufFile& f) {
  kq::MixModel m;
  m.arch = f.get_string("general.architecture");
  m.n_layer = static_cast<int>(f.get_int(m.arch + ".block_count", 0));
  m.n_head = static_cast<int>(f.get_int(m.arch + ".attention.head_count", 0));
  m.n_head_kv = static_cast<int>(f.get_int(m.arch + ".attention.head_count_kv", m.n_head));
  m.n_expert = static_cast<int>(f.get_int(m.arch + ".expert_count", 0));
  return m;
}

std::vector<kq::MixTensor> tensors_of(const kq::GgufFile& f) {
  std::vector<kq::MixTensor> out;
  for (const kq::GgufTensorInfo& t : f.tensors())
    out.push_back({t.name, t.ne, static_cast<int>(t.n_dims), t.type});
  return out;
}

// Plans synth-tiny-f32 for `ftype` and compares with the tensor types of the reference file.
void check_against(const char* ftype_name, const std::string& reference, bool pure) {
  const kq::GgufFile src = kq::GgufFile::open(kq::test::testdata_file("quant/synth-tiny-f32.gguf"));
  const kq::GgufFile want = kq::GgufFile::open(kq::test::testdata_file(reference));
  const auto ft = kq::parse_file_type(ftype_name);
  REQUIRE(ft.has_value());
  CHECK(want.get_int("general.file_type", -1) == static_cast<int64_t>(*ft));
  kq::MixOptions options;
  options.pure = pure;
  const std::vector<kq::MixTensor> tensors = tensors_of(src);
  const auto plan = kq::plan_mix(*ft, model_of(src), tensors, options);
  REQUIRE(plan.size() == tensors.size());
  REQUIRE(want.tensors().size() == tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    INFO(reference << ": " << tensors[i].name);
    const kq::GgufTensorInfo* w = want.find_tensor(tensors[i].name);
    REQUIRE(w != nullptr);
    const kq::QType got = plan[i].value_or(tensors[i].type);
    CHECK(std::string(kq::type_name(got)) == kq::type_name(w->type));
  }
}

}  // namespace

TEST_CASE("conformance: plan_mix matches llama-quantize's standard mixes", "[conformance][quant]") {
  for (const char* ftype : {"Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K"}) {
    DYNAMIC_SECTION(ftype) { check_against(ftype, std::string("quant/synth-tiny-mix-") + ftype + ".gguf", false); }
  }
}

TEST_CASE("conformance: plan_mix --pure matches llama-quantize --pure", "[conformance][quant]") {
  for (const char* ftype : {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K_S", "Q4_K_S", "Q5_K_S", "Q6_K",
                            "IQ4_NL", "IQ4_XS", "F16", "BF16"}) {
    DYNAMIC_SECTION(ftype) { check_against(ftype, std::string("quant/synth-tiny-pure-") + ftype + ".gguf", true); }
  }
}

TEST_CASE("conformance: the mix files differ from the pure ones where the rules say", "[conformance][quant]") {
  // Guards the test above against a plan that ignores the rules: Q4_K_M on 2 layers bumps layer 1.
  const kq::GgufFile mix = kq::GgufFile::open(kq::test::testdata_file("quant/synth-tiny-mix-Q4_K_M.gguf"));
  CHECK(mix.find_tensor("blk.1.attn_v.weight")->type == kq::QType::Q6_K);
  CHECK(mix.find_tensor("blk.0.attn_v.weight")->type == kq::QType::Q4_K);
  CHECK(mix.find_tensor("output.weight")->type == kq::QType::Q6_K);
}
