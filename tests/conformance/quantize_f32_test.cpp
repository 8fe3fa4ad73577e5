// Conformance: `kq quantize X F32 --allow-requantize` on llama.cpp's files reproduces manifest.json's float hashes.
//
// The manifest holds, per file and tensor, the sha256 of the tensor's float32 little-endian bytes
// as gguf-py dequantized them; converting through the kq binary must give the same bits.
#include <bit>
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/sha256.h"
#include "formats/gguf.h"
#include "quant/registry.h"
#include "tests/support/run_command.h"
#include "tests/support/testdata.h"

namespace {

kq::json::Value read_manifest() {
  std::ifstream in(kq::test::testdata_file("quant/manifest.json"), std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return kq::json::parse(ss.str());
}

// Hashes float32 data as little-endian bytes whatever the host order.
std::string sha256_f32_le(const uint8_t* data, size_t n_floats) {
  kq::Sha256 h;
  if constexpr (std::endian::native == std::endian::little) {
    h.update(data, n_floats * sizeof(float));
  } else {
    for (size_t i = 0; i < n_floats; ++i) {
      uint8_t b[4];
      std::memcpy(b, data + 4 * i, 4);
      const uint8_t le[4] = {b[3], b[2], b[1], b[0]};
      h.update(le, 4);
    }
  }
  return h.hex_digest();
}

}  // namespace

TEST_CASE("kq quantize to F32 reproduces the manifest's dequantized hashes", "[conformance]") {
  const kq::json::Value manifest = read_manifest();
  REQUIRE(manifest.size() > 0);
  for (const auto& [file, tensors] : manifest.members()) {
    DYNAMIC_SECTION(file) {
      const std::string in = kq::test::testdata_file("quant/" + file);
      const std::string out = kq::test::scratch_dir() + "/f32-" + file;
      const kq::test::CommandResult r = kq::test::run_kq({"quantize", in, out, "F32", "--allow-requantize"});
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      const kq::GgufFile f = kq::GgufFile::open(out);
      CHECK(f.get_int("general.file_type", -1) == 0);
      size_t checked = 0;
      for (const auto& [name, want] : tensors.members()) {
        INFO(name << " (" << want.at("type").as_string() << ")");
        const kq::GgufTensorInfo* t = f.find_tensor(name);
        REQUIRE(t != nullptr);
        REQUIRE(t->type == kq::QType::F32);
        const auto& ne = want.at("ne").items();
        REQUIRE(t->n_dims == ne.size());
        for (size_t d = 0; d < ne.size(); ++d) REQUIRE(t->ne[d] == ne[d].as_int());
        CHECK(sha256_f32_le(t->data, size_t(t->n_elements())) == want.at("sha256_f32").as_string());
        ++checked;
      }
      CHECK(checked == f.tensors().size());
      std::filesystem::remove(out);
    }
  }
}
