// `kq imatrix`: the file it writes, kq quantize --imatrix reading it, --help, and bad input.
#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "formats/imatrix_file.h"
#include "tests/support/run_command.h"
#include "tests/support/testdata.h"

namespace {

using kq::test::CommandResult;
using kq::test::run_kq;

std::string scratch(const std::string& name) {
  return kq::test::scratch_dir() + "/" + name;
}
std::string tiny() {
  return kq::test::testdata_file("quant/synth-tiny-f32.gguf");
}
std::string text() {
  return kq::test::testdata_file("tinytext.txt");
}

}  // namespace

TEST_CASE("kq imatrix writes a GGUF imatrix that kq quantize --imatrix uses", "[app]") {
  const std::string im = scratch("synth.imatrix.gguf");
  const CommandResult r = run_kq({"imatrix", "-m", tiny(), "-f", text(), "-o", im, "-c", "64", "--chunks", "3"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("Final estimate: PPL = ") == 0);
  CHECK(r.err.find("chunk 3/3") != std::string::npos);  // progress, plain lines when not a terminal
  CHECK(r.err.find("ETA") != std::string::npos);

  const kq::GgufFile f = kq::GgufFile::open(im);
  CHECK(f.get_string("general.type") == "imatrix");
  CHECK(f.get_int("imatrix.chunk_count", -1) == 3);
  CHECK(f.get_int("imatrix.chunk_size", -1) == 64);
  CHECK(f.find("imatrix.datasets")->string_at(0) == text());
  CHECK(f.tensors().size() == 2 * 2 * 7);  // 2 layers × 7 weights × (in_sum2, counts)
  const kq::GgufTensorInfo* counts = f.find_tensor("blk.1.ffn_down.weight.counts");
  REQUIRE(counts);
  float n = 0;
  std::memcpy(&n, counts->data, sizeof n);
  CHECK(n == 3 * 64);
  CHECK(f.find_tensor("output.weight.in_sum2") == nullptr);  // only with --process-output

  // The same run with --process-output adds output.weight and leaves the rest unchanged.
  const std::string with_out = scratch("synth-out.imatrix.gguf");
  REQUIRE(run_kq({"imatrix", "-m", tiny(), "-f", text(), "-o", with_out, "-c", "64", "--chunks", "3",
                  "--process-output", "-t", "1"})
              .exit_code == 0);
  const kq::Imatrix a = kq::load_imatrix(im), b = kq::load_imatrix(with_out);
  CHECK(b.entries.size() == a.entries.size() + 1);
  REQUIRE(b.entries.count("output.weight") == 1);
  CHECK(b.entries.at("blk.0.attn_q.weight") == a.entries.at("blk.0.attn_q.weight"));

  // kq quantize reads it, records it, and the weighted tensors differ from unweighted ones.
  const std::string plain = scratch("im-none.gguf"), weighted = scratch("im-kq.gguf");
  REQUIRE(run_kq({"quantize", tiny(), plain, "Q4_K_M"}).exit_code == 0);
  const CommandResult q = run_kq({"quantize", tiny(), weighted, "Q4_K_M", "--imatrix", im});
  INFO(q.err);
  REQUIRE(q.exit_code == 0);
  const kq::GgufFile p = kq::GgufFile::open(plain), w = kq::GgufFile::open(weighted);
  CHECK(w.get_int("quantize.imatrix.entries_count", -1) == 14);
  CHECK(w.get_int("quantize.imatrix.chunks_count", -1) == 3);
  CHECK(w.get_string("quantize.imatrix.dataset") == text());
  const kq::GgufTensorInfo *x = p.find_tensor("blk.0.attn_q.weight"), *y = w.find_tensor("blk.0.attn_q.weight");
  CHECK(std::memcmp(x->data, y->data, x->nbytes) != 0);
}

TEST_CASE("kq imatrix -b splits each chunk into forward passes and collects the same sums", "[app]") {
  const std::string whole = scratch("batch-whole.imatrix.gguf"), split = scratch("batch-16.imatrix.gguf");
  const std::vector<std::string> common = {"imatrix", "-m", tiny(), "-f", text(), "-c", "64", "--chunks", "2", "-t", "1"};
  std::vector<std::string> a = common, b = common;
  a.insert(a.end(), {"-o", whole});
  b.insert(b.end(), {"-o", split, "-b", "16"});
  REQUIRE(run_kq(a).exit_code == 0);
  const CommandResult r = run_kq(b);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const kq::Imatrix x = kq::load_imatrix(whole), y = kq::load_imatrix(split);
  REQUIRE(x.entries.size() == 14);
  REQUIRE(y.entries.size() == x.entries.size());
  for (const auto& [name, values] : x.entries) {
    INFO(name);
    REQUIRE(y.entries.count(name) == 1);
    const std::vector<float>& v = y.entries.at(name);
    REQUIRE(v.size() == values.size());
    // The same tokens through 4 passes instead of 1: only the matmuls' rounding may differ (the
    // 64-token pass of these F32 weights goes through oneDNN, the 16-token ones through kq's tiles,
    // each summing in its own order; measured within 2e-4 relative after two layers).
    for (size_t k = 0; k < v.size(); ++k) CHECK(v[k] == Approx(values[k]).epsilon(1e-3).margin(1e-12));
  }
}

TEST_CASE("kq imatrix --help prints its usage and exits 0", "[app]") {
  const CommandResult r = run_kq({"imatrix", "--help"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("usage: kq imatrix -m MODEL -f TEXT -o FILE") == 0);
  for (const char* flag : {"--ctx-size", "--batch-size", "--chunks", "--process-output", "--threads"})
    CHECK(r.out.find(flag) != std::string::npos);
  CHECK(run_kq({"--help"}).out.find("imatrix") != std::string::npos);
}

TEST_CASE("kq imatrix: bad input is one clear line", "[app]") {
  const std::string out = scratch("bad.imatrix.gguf");
  SECTION("missing flags are usage errors (exit 2)") {
    for (const auto& [args, needle] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"imatrix", "-f", text(), "-o", out}, "missing -m MODEL"},
             {{"imatrix", "-m", tiny(), "-o", out}, "missing -f TEXT"},
             {{"imatrix", "-m", tiny(), "-f", text()}, "missing -o FILE"},
             {{"imatrix", "-m", tiny(), "-f", text(), "-o", out, "-c", "2"}, "option -c needs at least 4"},
             {{"imatrix", "-m", tiny(), "-f", text(), "-o", out, "-b", "0"}, "option -b needs a size >= 1"},
             {{"imatrix", "-m", tiny(), "-f", text(), "-o", out, "--chunks", "0"}, "option --chunks needs a count >= 1"},
             {{"imatrix", "-m", tiny(), "-f", text(), "-o", out, "--bogus"}, "unknown option '--bogus'"},
             // imatrix never repacks weights (the collector keys them by their file data pointer).
             {{"imatrix", "-m", tiny(), "-f", text(), "-o", out, "--repack"}, "unknown option '--repack'"}}) {
      const CommandResult r = run_kq(args);
      INFO(r.err);
      CHECK(r.exit_code == 2);
      CHECK(r.err.rfind("kq imatrix: " + needle, 0) == 0);
    }
  }
  SECTION("a text shorter than one chunk says how many tokens it needs") {
    const CommandResult r = run_kq({"imatrix", "-m", tiny(), "-f", text(), "-o", out, "-c", "100000"});
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err_lines() == 1);
    CHECK(r.err.find("needs 100000") != std::string::npos);
  }
  SECTION("unreadable or unwritable files") {
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"imatrix", "-m", scratch("missing.gguf"), "-f", text(), "-o", out},
             {"imatrix", "-m", text(), "-f", text(), "-o", out},
             {"imatrix", "-m", tiny(), "-f", scratch("missing.txt"), "-o", out},
             {"imatrix", "-m", tiny(), "-f", text(), "-o", scratch("no-such-dir/x.gguf")}}) {
      const CommandResult r = run_kq(args);
      INFO(r.err);
      CHECK(r.exit_code == 1);
      CHECK(r.err_lines() == 1);
      CHECK(r.err.rfind("kq imatrix: ", 0) == 0);
    }
  }
  std::ifstream written(out);
  CHECK_FALSE(written.good());  // nothing was written by any of them
}
