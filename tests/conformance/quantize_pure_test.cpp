// Conformance: `kq quantize synth-tiny-f32.gguf OUT TYPE --pure --llama-exact` writes the same bytes as
// llama-quantize --pure.
//
// testdata/quant/synth-tiny-pure-<TYPE>.gguf were made by llama.cpp from the same f32 file, so every
// tensor (quantized weights and copied norms alike) must match byte for byte, with the same type.
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <utility>

#include "formats/gguf.h"
#include "quant/registry.h"
#include "tests/support/run_command.h"
#include "tests/support/testdata.h"

TEST_CASE("conformance: kq quantize matches llama-quantize --pure byte for byte", "[conformance][app]") {
  // kq type argument, llama.cpp file-type suffix of the reference file
  const std::pair<const char*, const char*> kCases[] = {
      {"Q4_0", "Q4_0"}, {"Q4_1", "Q4_1"},     {"Q5_0", "Q5_0"},     {"Q5_1", "Q5_1"},     {"Q8_0", "Q8_0"},
      {"Q2_K", "Q2_K"}, {"Q3_K", "Q3_K_S"},   {"Q4_K", "Q4_K_S"},   {"Q5_K", "Q5_K_S"},   {"Q6_K", "Q6_K"},
      {"IQ4_NL", "IQ4_NL"}, {"IQ4_XS", "IQ4_XS"}, {"F16", "F16"},   {"BF16", "BF16"},
  };
  const std::string src = kq::test::testdata_file("quant/synth-tiny-f32.gguf");
  for (const auto& [type, ftype] : kCases) {
    DYNAMIC_SECTION(type) {
      const std::string out = kq::test::scratch_dir() + "/pure-" + type + ".gguf";
      const kq::test::CommandResult r =
          kq::test::run_kq({"quantize", src, out, type, "--pure", "-t", "2", "--llama-exact"});
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      const kq::GgufFile want = kq::GgufFile::open(kq::test::testdata_file(std::string("quant/synth-tiny-pure-") +
                                                                          ftype + ".gguf"));
      const kq::GgufFile got = kq::GgufFile::open(out);
      REQUIRE(got.tensors().size() == want.tensors().size());
      for (const kq::GgufTensorInfo& w : want.tensors()) {
        INFO(w.name);
        const kq::GgufTensorInfo* g = got.find_tensor(w.name);
        REQUIRE(g != nullptr);
        REQUIRE(g->type == w.type);
        REQUIRE(g->ne == w.ne);
        REQUIRE(g->nbytes == w.nbytes);
        CHECK(std::memcmp(g->data, w.data, w.nbytes) == 0);
      }
      REQUIRE(got.get_int("general.quantization_version", 0) == 2);
      REQUIRE(got.get_int("general.file_type", -1) == want.get_int("general.file_type", -2));
    }
  }
}
