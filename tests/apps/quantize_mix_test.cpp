// `kq quantize IN OUT FTYPE` with llama.cpp's mixes: reference files, --dry-run, overrides, imatrix, bad input.
#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
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

std::string scratch(const std::string& name) { return kq::test::scratch_dir() + "/" + name; }
std::string tiny() { return kq::test::testdata_file("quant/synth-tiny-f32.gguf"); }
std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

void check_usage_error(const CommandResult& r, const std::string& needle) {
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(first_line(r.err).rfind("kq quantize: ", 0) == 0);
  CHECK(first_line(r.err).find(needle) != std::string::npos);
  CHECK(r.err.find("usage: kq quantize") != std::string::npos);
}

// Writes a legacy imatrix .dat file (formats.md C.4) with one entry per (name, columns).
void write_dat(const std::string& path, const std::vector<std::pair<std::string, int>>& entries, float value) {
  std::ofstream out(path, std::ios::binary);
  const auto i32 = [&](int32_t v) { out.write(reinterpret_cast<const char*>(&v), sizeof v); };
  i32(int32_t(entries.size()));
  for (const auto& [name, n] : entries) {
    i32(int32_t(name.size()));
    out.write(name.data(), std::streamsize(name.size()));
    i32(10);  // ncall: the stored values are sums over 10 calls
    i32(n);
    for (int k = 0; k < n; ++k) {
      // A skewed importance (column k matters k+1 times more), so it changes the result.
      const float v = value * float(k % 7 + 1) * 10.0f;
      out.write(reinterpret_cast<const char*>(&v), sizeof v);
    }
  }
  // The optional trailer: the chunk count and the calibration file's name.
  const std::string dataset = "tinytext.txt";
  i32(3);
  i32(int32_t(dataset.size()));
  out.write(dataset.data(), std::streamsize(dataset.size()));
}

}  // namespace

TEST_CASE("kq quantize reproduces llama-quantize's mixes tensor for tensor", "[app][conformance]") {
  for (const char* ftype : {"Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K"}) {
    DYNAMIC_SECTION(ftype) {
      const std::string out = scratch(std::string("mix-") + ftype + ".gguf");
      const CommandResult r = run_kq({"quantize", tiny(), out, ftype, "-t", "2", "--llama-exact"});
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      const kq::GgufFile want =
          kq::GgufFile::open(kq::test::testdata_file(std::string("quant/synth-tiny-mix-") + ftype + ".gguf"));
      const kq::GgufFile got = kq::GgufFile::open(out);
      CHECK(got.get_int("general.file_type", -1) == want.get_int("general.file_type", -2));
      CHECK(got.find("general.file_type")->type() == kq::GgufType::U32);
      CHECK(got.get_int("general.quantization_version", -1) == 2);
      REQUIRE(got.tensors().size() == want.tensors().size());
      for (size_t i = 0; i < want.tensors().size(); ++i) {
        const kq::GgufTensorInfo& w = want.tensors()[i];
        const kq::GgufTensorInfo& g = got.tensors()[i];
        INFO(w.name);
        CHECK(g.name == w.name);  // llama.cpp's tensor order too
        CHECK(std::string(kq::type_name(g.type)) == kq::type_name(w.type));
        REQUIRE(g.nbytes == w.nbytes);
        // With --llama-exact kq's quantizers match llama.cpp's bit for bit (see the --pure test).
        CHECK(std::memcmp(g.data, w.data, w.nbytes) == 0);
      }
      // Metadata order included (file_type and quantization_version move to the end): the whole file.
      REQUIRE(got.file_size() == want.file_size());
      CHECK(std::memcmp(got.bytes(), want.bytes(), want.file_size()) == 0);
    }
  }
}

TEST_CASE("kq quantize --pure writes llama-quantize --pure's files byte for byte", "[app][conformance]") {
  for (const char* ftype : {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K_S", "Q4_K_S", "Q5_K_S", "Q6_K",
                            "IQ4_NL", "IQ4_XS", "F16", "BF16"}) {
    DYNAMIC_SECTION(ftype) {
      const std::string out = scratch(std::string("whole-pure-") + ftype + ".gguf");
      const CommandResult r = run_kq({"quantize", tiny(), out, ftype, "--pure", "-t", "2", "--llama-exact"});
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      const kq::GgufFile want =
          kq::GgufFile::open(kq::test::testdata_file(std::string("quant/synth-tiny-pure-") + ftype + ".gguf"));
      const kq::GgufFile got = kq::GgufFile::open(out);
      REQUIRE(got.file_size() == want.file_size());
      CHECK(std::memcmp(got.bytes(), want.bytes(), want.file_size()) == 0);
    }
  }
}

TEST_CASE("kq quantize --dry-run prints the plan and writes nothing", "[app]") {
  const std::string out = scratch("dry.gguf");
  const CommandResult r = run_kq({"quantize", tiny(), out, "Q4_K_M", "--dry-run"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_FALSE(std::ifstream(out).good());
  const kq::GgufFile want = kq::GgufFile::open(kq::test::testdata_file("quant/synth-tiny-mix-Q4_K_M.gguf"));
  uint64_t total = 0;
  for (const kq::GgufTensorInfo& t : want.tensors()) {
    INFO(t.name);
    // One line per tensor: name, type, shape, bytes.
    const size_t at = r.out.find(t.name + " ");
    REQUIRE(at != std::string::npos);
    const std::string line = r.out.substr(at, r.out.find('\n', at) - at);
    std::string type_field = " ", bytes_field = " ";
    type_field.append(kq::type_name(t.type)).append(" ");
    bytes_field.append(std::to_string(t.nbytes));
    CHECK(line.find(type_field) != std::string::npos);
    CHECK(line.find(bytes_field) != std::string::npos);
    total += t.nbytes;
  }
  std::string total_field = "(";
  total_field.append(std::to_string(total)).append(" bytes)");
  CHECK(r.out.find(total_field) != std::string::npos);
  CHECK(r.out.find("bpw") != std::string::npos);
  CHECK(r.out.find("Q4_K_M") != std::string::npos);

  // OUT may be left out with --dry-run.
  const CommandResult two = run_kq({"quantize", tiny(), "q8_0", "--dry-run"});
  INFO(two.err);
  CHECK(two.exit_code == 0);
  CHECK(two.out.find("output.weight") != std::string::npos);
}

TEST_CASE("kq quantize --tensor-type, --output-tensor-type, --token-embedding-type", "[app]") {
  const std::string out = scratch("overrides.gguf");
  const CommandResult r = run_kq({"quantize", tiny(), out, "Q4_K_M", "--tensor-type", "attn_v=q8_0",
                                  "--tensor-type=blk\\.1\\.ffn_(up|gate)=Q5_0", "--tensor-type", "ffn=Q2_K",
                                  "--output-tensor-type", "Q8_0", "--token-embedding-type", "q6_k"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const kq::GgufFile f = kq::GgufFile::open(out);
  const auto type_of = [&](const char* name) { return std::string(kq::type_name(f.find_tensor(name)->type)); };
  CHECK(type_of("blk.0.attn_v.weight") == "Q8_0");
  CHECK(type_of("blk.1.attn_v.weight") == "Q8_0");
  CHECK(type_of("blk.1.ffn_up.weight") == "Q5_0");  // the first matching pattern wins
  CHECK(type_of("blk.1.ffn_gate.weight") == "Q5_0");
  CHECK(type_of("blk.0.ffn_up.weight") == "Q2_K");
  CHECK(type_of("blk.1.ffn_down.weight") == "Q2_K");
  CHECK(type_of("blk.0.ffn_norm.weight") == "F32");  // never quantized
  CHECK(type_of("blk.0.attn_q.weight") == "Q4_K");
  CHECK(type_of("output.weight") == "Q8_0");
  CHECK(type_of("token_embd.weight") == "Q6_K");
  CHECK(f.get_int("general.file_type", -1) == 15);

  // With --pure the patterns do nothing (as in llama.cpp), and kq says so.
  const std::string pure = scratch("overrides-pure.gguf");
  const CommandResult p = run_kq({"quantize", tiny(), pure, "Q4_K_M", "--pure", "--tensor-type", "attn_v=Q8_0"});
  INFO(p.err);
  REQUIRE(p.exit_code == 0);
  CHECK(p.err.find("--tensor-type is ignored with --pure") != std::string::npos);
  CHECK(kq::GgufFile::open(pure).find_tensor("blk.0.attn_v.weight")->type == QType::Q4_K);
}

TEST_CASE("kq quantize --imatrix: legacy .dat and GGUF files", "[app]") {
  const kq::GgufFile src = kq::GgufFile::open(tiny());
  std::vector<std::pair<std::string, int>> entries;
  for (const kq::GgufTensorInfo& t : src.tensors())
    if (t.n_dims == 2 && t.name != "token_embd.weight") entries.emplace_back(t.name, int(t.ne[0]));
  const std::string dat = scratch("tiny.imatrix");
  write_dat(dat, entries, 1.0f);

  const std::string plain = scratch("im-plain.gguf"), weighted = scratch("im-dat.gguf");
  REQUIRE(run_kq({"quantize", tiny(), plain, "Q4_K_M"}).exit_code == 0);
  const CommandResult r = run_kq({"quantize", tiny(), weighted, "Q4_K_M", "--imatrix", dat});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const kq::GgufFile a = kq::GgufFile::open(plain), b = kq::GgufFile::open(weighted);
  const auto same = [&](const char* name) {
    const kq::GgufTensorInfo *x = a.find_tensor(name), *y = b.find_tensor(name);
    return x->nbytes == y->nbytes && std::memcmp(x->data, y->data, x->nbytes) == 0;
  };
  CHECK_FALSE(same("blk.0.ffn_down.weight"));  // weighted by the imatrix
  CHECK(same("token_embd.weight"));             // no entry: quantized as before
  CHECK(same("blk.0.attn_norm.weight"));
  // What llama-quantize records about the imatrix.
  CHECK(b.get_string("quantize.imatrix.file") == dat);
  CHECK(b.get_int("quantize.imatrix.entries_count", -1) == int64_t(entries.size()));
  CHECK(b.get_int("quantize.imatrix.chunks_count", -1) == 3);
  CHECK(b.get_string("quantize.imatrix.dataset") == "tinytext.txt");
  CHECK(a.find("quantize.imatrix.file") == nullptr);

  // The same importance as a GGUF imatrix (in_sum2 / counts) gives the same file.
  std::vector<std::vector<float>> sums, counts;
  for (const auto& [name, n] : entries) {
    sums.emplace_back(size_t(n));
    for (int k = 0; k < n; ++k) sums.back()[size_t(k)] = float(k % 7 + 1) * 4.0f;  // mean k%7+1 over 4 tokens
    counts.push_back({4.0f});
  }
  const std::string gguf_im = scratch("tiny.imatrix.gguf");
  kq::GgufWriter w;
  w.set("imatrix.chunk_count", kq::GgufValue::u32(1));
  for (size_t i = 0; i < entries.size(); ++i) {
    w.add_tensor(entries[i].first + ".in_sum2", QType::F32, {entries[i].second, 1}, sums[i].data());
    w.add_tensor(entries[i].first + ".counts", QType::F32, {1, 1}, counts[i].data());
  }
  w.write(gguf_im);
  const std::string from_gguf = scratch("im-gguf.gguf");
  const CommandResult g = run_kq({"quantize", tiny(), from_gguf, "Q4_K_M", "--imatrix", gguf_im});
  INFO(g.err);
  REQUIRE(g.exit_code == 0);
  const kq::GgufFile c = kq::GgufFile::open(from_gguf);
  const kq::GgufTensorInfo *x = b.find_tensor("blk.0.ffn_down.weight"), *y = c.find_tensor("blk.0.ffn_down.weight");
  CHECK(std::memcmp(x->data, y->data, x->nbytes) == 0);

  // Q2_K_S is refused without an imatrix (as llama.cpp does) and works with one.
  const CommandResult refused = run_kq({"quantize", tiny(), scratch("q2ks.gguf"), "Q2_K_S"});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("imatrix") != std::string::npos);
  CHECK(run_kq({"quantize", tiny(), scratch("q2ks.gguf"), "Q2_K_S", "--imatrix", dat}).exit_code == 0);

  // An entry of the wrong size, a missing file, and garbage are errors (exit 1, one line).
  const std::string wrong = scratch("wrong.imatrix");
  write_dat(wrong, {{"blk.0.attn_q.weight", 100}}, 1.0f);
  for (const std::string& bad : {wrong, scratch("missing.imatrix"), kq::test::testdata_file("tinytext.txt")}) {
    const CommandResult e = run_kq({"quantize", tiny(), scratch("bad-im.gguf"), "Q4_K_M", "--imatrix", bad});
    INFO(bad << ": " << e.err);
    CHECK(e.exit_code == 1);
    CHECK(e.err_lines() == 1);
    CHECK(e.err.rfind("kq quantize: ", 0) == 0);
  }
}

TEST_CASE("kq quantize: bad file types, types and patterns exit 2", "[app]") {
  check_usage_error(run_kq({"quantize", "a.gguf", "b.gguf", "Q4_K_X"}), "unknown file type 'Q4_K_X'");
  check_usage_error(run_kq({"quantize", "a.gguf", "b.gguf", "Q4_K_M", "--tensor-type", "attn_(v=Q8_0"}),
                    "bad regular expression");
  check_usage_error(run_kq({"quantize", "a.gguf", "b.gguf", "Q4_K_M", "--tensor-type", "attn_v"}), "REGEX=TYPE");
  check_usage_error(run_kq({"quantize", "a.gguf", "b.gguf", "Q4_K_M", "--tensor-type", "attn_v=Q9"}),
                    "unknown type 'Q9'");
  check_usage_error(run_kq({"quantize", "a.gguf", "b.gguf", "Q4_K_M", "--output-tensor-type", "Q8_K"}),
                    "activation-only");
  check_usage_error(run_kq({"quantize", "a.gguf", "b.gguf", "Q4_K_M", "--token-embedding-type", "nope"}),
                    "unknown type 'nope'");
  check_usage_error(run_kq({"quantize", "a.gguf", "b.gguf", "Q4_K_M", "--imatrix"}), "needs a value");
  check_usage_error(run_kq({"quantize", "a.gguf", "Q4_K_M"}), "expected IN OUT TYPE");  // OUT only optional for --dry-run
}

TEST_CASE("kq quantize --help describes the file types and options", "[app]") {
  const CommandResult r = run_kq({"quantize", "--help"});
  REQUIRE(r.exit_code == 0);
  for (const char* s : {"Q4_K_M", "Q2_K_S", "Q3_K_L", "IQ4_XS", "BF16", "--pure", "--imatrix", "--tensor-type",
                        "--output-tensor-type", "--token-embedding-type", "--allow-requantize", "--dry-run", "-t"})
    CHECK(r.out.find(s) != std::string::npos);
}

TEST_CASE("kq quantize reports progress as plain lines when stderr is not a terminal", "[app]") {
  const CommandResult r = run_kq({"quantize", tiny(), scratch("progress.gguf"), "Q8_0"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find('\r') == std::string::npos);
  CHECK(r.err.find("\x1b[") == std::string::npos);
  CHECK(r.err.find("[  21/  21]") != std::string::npos);
  CHECK(r.err.find("MB/s") != std::string::npos);
}
