// `kq quantize --pure` on stories260K: every file type, the C.5 fallbacks, metadata, threads, requantization.
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "quant/registry.h"
#include "tests/support/run_command.h"
#include "tests/support/testdata.h"

namespace {

using kq::QType;
using kq::test::CommandResult;
using kq::test::run_kq;

struct Target {
  const char* name;  // file type
  QType type;        // what --pure gives every weight
  uint32_t file_type;  // llama_ftype (formats.md A.7)
};
constexpr Target kTargets[] = {
    {"F32", QType::F32, 0},         {"F16", QType::F16, 1},         {"BF16", QType::BF16, 32},
    {"Q4_0", QType::Q4_0, 2},       {"Q4_1", QType::Q4_1, 3},       {"Q5_0", QType::Q5_0, 8},
    {"Q5_1", QType::Q5_1, 9},       {"Q8_0", QType::Q8_0, 7},       {"Q2_K", QType::Q2_K, 10},
    {"Q3_K_S", QType::Q3_K, 11},    {"Q3_K_L", QType::Q3_K, 13},    {"Q4_K_M", QType::Q4_K, 15},
    {"Q5_K_S", QType::Q5_K, 16},    {"Q6_K", QType::Q6_K, 18},      {"IQ4_NL", QType::IQ4_NL, 25},
    {"IQ4_XS", QType::IQ4_XS, 30},  {"Q4_K", QType::Q4_K, 14},  // the K type alone names the _S file type
};

// llama.cpp's tensor order: non-block tensors, then blk.0, blk.1, ..., by name within each.
bool llama_order(const std::string& a, const std::string& b) {
  int la = -1, lb = -1;
  std::sscanf(a.c_str(), "blk.%d.", &la);
  std::sscanf(b.c_str(), "blk.%d.", &lb);
  return la != lb ? la < lb : a < b;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The type a tensor should get, written from formats.md C.5 independently of the app.
QType expected_type(const kq::GgufTensorInfo& t, QType want) {
  const bool quantizable = t.n_dims >= 2 && ends_with(t.name, "weight") && !ends_with(t.name, "_norm.weight") &&
                           !ends_with(t.name, "ffn_gate_inp.weight");
  if (!quantizable) return t.type;
  if (t.ne[0] % kq::type_traits(want).block_size == 0) return want;
  QType fallback = QType::F16;
  if (want == QType::Q2_K || want == QType::Q3_K || want == QType::IQ4_XS) fallback = QType::IQ4_NL;
  if (want == QType::Q4_K) fallback = QType::Q5_0;
  if (want == QType::Q5_K) fallback = QType::Q5_1;
  if (want == QType::Q6_K) fallback = QType::Q8_0;
  return t.ne[0] % 32 == 0 ? fallback : QType::F16;
}

std::string scratch(const std::string& name) { return kq::test::scratch_dir() + "/" + name; }

}  // namespace

TEST_CASE("kq quantize --pure converts stories260K to every file type", "[app]") {
  const std::string src_path = kq::test::testdata_file("stories260K.gguf");
  const kq::GgufFile src = kq::GgufFile::open(src_path);
  for (const Target& target : kTargets) {
    SECTION(target.name) {
      const std::string out_path = scratch(std::string("stories-") + target.name + ".gguf");
      // Lower case works too.
      std::string lower = target.name;
      for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
      const CommandResult r = run_kq({"quantize", src_path, out_path, lower, "--pure", "-t", "2"});
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      CHECK(r.out.empty());
      CHECK(r.err.find("bpw") != std::string::npos);  // the summary line

      const kq::GgufFile out = kq::GgufFile::open(out_path);
      CHECK(out.get_int("general.file_type", -1) == target.file_type);
      CHECK(out.find("general.file_type")->type() == kq::GgufType::U32);
      CHECK(out.get_int("general.quantization_version", -1) == 2);
      CHECK(out.find("general.quantization_version")->type() == kq::GgufType::U32);
      CHECK(out.alignment() == src.alignment());
      for (const auto& [key, value] : src.metadata()) {
        if (key == "general.file_type" || key == "general.quantization_version") continue;
        INFO(key);
        const kq::GgufValue* got = out.find(key);
        REQUIRE(got != nullptr);
        CHECK(*got == value);
      }

      REQUIRE(out.tensors().size() == src.tensors().size());
      bool noted_fallback = false;
      for (size_t i = 0; i < out.tensors().size(); ++i) {
        if (i > 0) CHECK(llama_order(out.tensors()[i - 1].name, out.tensors()[i].name));
        const kq::GgufTensorInfo& o = out.tensors()[i];
        INFO(o.name);
        REQUIRE(src.find_tensor(o.name) != nullptr);
        const kq::GgufTensorInfo& s = *src.find_tensor(o.name);
        CHECK(o.n_dims == s.n_dims);
        CHECK(o.ne == s.ne);
        const QType want = expected_type(s, target.type);
        CHECK(kq::type_name(o.type) == std::string(kq::type_name(want)));
        if (want != target.type && want != s.type) noted_fallback = true;
        if (o.type == s.type) {
          // Untouched (or same-type) tensors are byte-identical for float sources.
          REQUIRE(o.nbytes == s.nbytes);
          CHECK(std::memcmp(o.data, s.data, s.nbytes) == 0);
        }
      }
      // Each fallback is reported on stderr.
      if (noted_fallback) CHECK(r.err.find("using") != std::string::npos);
    }
  }
}

TEST_CASE("kq quantize output does not depend on the thread count", "[app]") {
  const std::string src = kq::test::testdata_file("stories260K.gguf");
  const std::string a = scratch("threads-1.gguf"), b = scratch("threads-5.gguf");
  REQUIRE(run_kq({"quantize", src, a, "Q4_0", "-t", "1"}).exit_code == 0);
  REQUIRE(run_kq({"quantize", src, b, "Q4_0", "--threads=5"}).exit_code == 0);
  const kq::GgufFile fa = kq::GgufFile::open(a), fb = kq::GgufFile::open(b);
  REQUIRE(fa.file_size() == fb.file_size());
  CHECK(std::memcmp(fa.bytes(), fb.bytes(), fa.file_size()) == 0);
}

TEST_CASE("kq quantize needs --allow-requantize for quantized input", "[app]") {
  const std::string src = kq::test::testdata_file("stories260K.gguf");
  const std::string q8 = scratch("requant-q8.gguf"), q4 = scratch("requant-q4.gguf");
  REQUIRE(run_kq({"quantize", src, q8, "Q8_0", "--pure"}).exit_code == 0);

  const CommandResult refused = run_kq({"quantize", q8, q4, "Q4_0"});
  INFO(refused.err);
  CHECK(refused.exit_code == 1);
  CHECK(refused.err_lines() == 1);
  CHECK(refused.err.find("--allow-requantize") != std::string::npos);

  const CommandResult allowed = run_kq({"quantize", q8, q4, "Q4_0", "--pure", "--allow-requantize"});
  INFO(allowed.err);
  REQUIRE(allowed.exit_code == 0);
  const kq::GgufFile out = kq::GgufFile::open(q4), mid = kq::GgufFile::open(q8);
  for (const kq::GgufTensorInfo& t : out.tensors()) {
    INFO(t.name);
    const kq::GgufTensorInfo* m = mid.find_tensor(t.name);
    REQUIRE(m != nullptr);
    CHECK(kq::type_name(t.type) == std::string(kq::type_name(expected_type(*m, QType::Q4_0))));
  }

  // Float inputs never need the flag: F16 -> Q8_0 is a first quantization.
  const std::string f16 = scratch("requant-f16.gguf");
  REQUIRE(run_kq({"quantize", src, f16, "F16"}).exit_code == 0);
  CHECK(run_kq({"quantize", f16, scratch("requant-f16-q8.gguf"), "Q8_0"}).exit_code == 0);
}
