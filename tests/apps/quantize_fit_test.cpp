// `kq quantize IN OUT --fit SIZE`: the budget is kept, the smallest size is named and is exact,
// the command line is checked.
#include <catch2/catch.hpp>
#include <cstdint>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "quant/budget_mix.h"
#include "tests/support/run_command.h"
#include "tests/support/testdata.h"

namespace {

using kq::test::CommandResult;
using kq::test::run_kq;

std::string scratch(const std::string& name) { return kq::test::scratch_dir() + "/" + name; }
std::string tiny() { return kq::test::testdata_file("quant/synth-tiny-f32.gguf"); }
std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// The byte count printed after `label` as "label X.XX MiB (N bytes)".
uint64_t bytes_after(const std::string& text, const std::string& label) {
  std::smatch m;
  const std::regex re(label + " [0-9.]+ MiB \\(([0-9]+) bytes\\)");
  if (!std::regex_search(text, m, re)) FAIL("no '" << label << "' in: " << text);
  return std::stoull(m[1].str());
}

// The smallest budget --fit accepts for synth-tiny at -c 128, from its too-small error (weights at
// their cheapest type plus what the memory plan puts beside them).
uint64_t smallest_fit() {
  const CommandResult r = run_kq({"quantize", tiny(), "--fit", "1", "-c", "128", "--dry-run"});
  REQUIRE(r.exit_code == 1);
  return bytes_after(r.err, "needs");
}

}  // namespace

TEST_CASE("quantize --fit: --help describes it", "[app][quantize][fit]") {
  const CommandResult r = run_kq({"quantize", "--help"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("kq quantize IN OUT --fit SIZE [-c N]") != std::string::npos);
  CHECK(r.out.find("--fit SIZE") != std::string::npos);
  CHECK(r.out.find("-c, --ctx-size N") != std::string::npos);
  // The --fit paragraph is filled to the usage's width: no clause broken over a short line.
  CHECK(r.out.find("error over its importance-weighted energy (importance: the --imatrix\n") != std::string::npos);
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    INFO(line);
    CHECK(line.size() <= 102);
  }
}

TEST_CASE("quantize --fit: command-line misuse is a usage error", "[app][quantize][fit]") {
  const std::string out = scratch("fit-misuse.gguf");
  for (const auto& [args, needle] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"quantize", tiny(), out, "Q4_K_M", "--fit", "1M"}, "with --fit, expected IN OUT"},
           {{"quantize", tiny(), out, "--fit", "1M", "--pure"}, "not with --pure"},
           {{"quantize", tiny(), out, "--fit", "lots"}, "needs a size"},
           {{"quantize", tiny(), out, "Q4_K_M", "-c", "128"}, "-c is for --fit"},
           {{"quantize", tiny(), out, "--fit", "1M", "-c", "0"}, "needs a count"}}) {
    const CommandResult r = run_kq(args);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(first_line(r.err).find(needle) != std::string::npos);
  }
}

TEST_CASE("quantize --fit: a budget below the smallest mix names the smallest size, which fits exactly",
          "[app][quantize][fit]") {
  const CommandResult small = run_kq({"quantize", tiny(), "--fit", "100K", "-c", "128", "--dry-run"});
  INFO(small.err);
  REQUIRE(small.exit_code == 1);
  CHECK(small.err_lines() == 1);
  CHECK(small.err.rfind("kq quantize: --fit 0.10 MiB (102400 bytes) is too small: the smallest mix needs", 0) == 0);
  const uint64_t smallest = bytes_after(small.err, "needs");
  // The smallest mix: every weight at its cheapest ladder type (Q2_K on synth-tiny's 256-wide rows),
  // aligned to 32 bytes, plus the copied norms, plus the non-weight parts printed beside it.
  const kq::GgufFile in = kq::GgufFile::open(tiny());
  uint64_t tensors = 0;
  for (const kq::GgufTensorInfo& t : in.tensors()) {
    const uint64_t b = t.n_dims >= 2 ? kq::row_size(kq::budget_ladder(t.ne[0]).front(), t.ne[0]) * uint64_t(t.n_rows())
                                     : t.nbytes;
    tensors += (b + 31) / 32 * 32;
  }
  CHECK(bytes_after(small.err, "tensors") == tensors);
  CHECK(smallest == tensors + bytes_after(small.err, "metadata") + bytes_after(small.err, "\\(F16\\)") +
                        bytes_after(small.err, "scratch") + bytes_after(small.err, "runtime"));

  const CommandResult at = run_kq({"quantize", tiny(), "--fit", std::to_string(smallest), "-c", "128", "--dry-run"});
  INFO(at.err);
  CHECK(at.exit_code == 0);
  CHECK(at.out.find("Q2_K      16 tensors") != std::string::npos);
  const CommandResult below =
      run_kq({"quantize", tiny(), "--fit", std::to_string(smallest - 1), "-c", "128", "--dry-run"});
  CHECK(below.exit_code == 1);
}

TEST_CASE("quantize --fit: the written file plus KV cache and scratch stays within the budget",
          "[app][quantize][fit]") {
  const kq::GgufFile in = kq::GgufFile::open(tiny());
  const uint64_t smallest = smallest_fit();
  // From all-Q2_K weights (607232 bytes) to room for all-Q8_0 (about 1.97 MB).
  for (const uint64_t extra : {150000u, 350000u, 750000u, 2350000u}) {
    const uint64_t budget = smallest + extra;
    const std::string out = scratch("fit-" + std::to_string(budget) + ".gguf");
    const CommandResult r = run_kq({"quantize", tiny(), out, "--fit", std::to_string(budget), "-c", "128", "-t", "2"});
    INFO(budget << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    const uint64_t planned = bytes_after(r.out, "planned total");
    const uint64_t kv = bytes_after(r.out, "\\(F16\\)"), scratch_bytes = bytes_after(r.out, "scratch");
    CHECK(kv == 128u * 2 * 2 * 128 * 2);  // n_ctx · n_layer · (K + V: 2 heads × 64) · 2 bytes
    CHECK(planned <= budget);
    const kq::GgufFile f = kq::GgufFile::open(out);
    CHECK(f.file_size() + kv + scratch_bytes + bytes_after(r.out, "runtime") <= budget);
    CHECK(f.file_size() <= bytes_after(r.out, "tensors") + bytes_after(r.out, "metadata"));
    // Every weight got a type from the ladder; the copied tensors are unchanged.
    for (const kq::GgufTensorInfo& t : f.tensors()) {
      const kq::GgufTensorInfo* src = in.find_tensor(t.name);
      REQUIRE(src);
      if (t.n_dims < 2) {
        CHECK(t.type == kq::QType::F32);
        continue;
      }
      const std::vector<kq::QType> ladder = kq::budget_ladder(t.ne[0]);
      CHECK(std::find(ladder.begin(), ladder.end(), t.type) != ladder.end());
    }
  }
}

TEST_CASE("quantize --fit: a generous budget buys Q8_0 everywhere, and -c grows the KV cache", "[app][quantize][fit]") {
  const CommandResult big = run_kq({"quantize", tiny(), "--fit", "64M", "-c", "128", "--dry-run"});
  INFO(big.err);
  REQUIRE(big.exit_code == 0);
  CHECK(big.out.find("Q8_0      16 tensors") != std::string::npos);
  const CommandResult longer = run_kq({"quantize", tiny(), "--fit", "64M", "-c", "4096", "--dry-run"});
  REQUIRE(longer.exit_code == 0);
  CHECK(bytes_after(longer.out, "\\(F16\\)") == 32 * bytes_after(big.out, "\\(F16\\)"));
  // Without -c: the model's training context (4096 for synth-tiny), capped at 4096.
  const CommandResult def = run_kq({"quantize", tiny(), "--fit", "64M", "--dry-run"});
  REQUIRE(def.exit_code == 0);
  CHECK(def.out.find("(-c 4096)") != std::string::npos);
}

TEST_CASE("quantize --fit: with --imatrix the importances weight the errors", "[app][quantize][fit]") {
  // A legacy .dat imatrix (formats.md C.4): every weight of synth-tiny, importance 1 + column % 7.
  const kq::GgufFile in = kq::GgufFile::open(tiny());
  const std::string dat = scratch("fit.imatrix.dat"), out = scratch("fit-imatrix.gguf");
  const uint64_t budget = smallest_fit() + 400000;
  {
    std::ofstream f(dat, std::ios::binary);
    const auto i32 = [&](int32_t v) { f.write(reinterpret_cast<const char*>(&v), sizeof v); };
    std::vector<const kq::GgufTensorInfo*> weights;
    for (const kq::GgufTensorInfo& t : in.tensors())
      if (t.n_dims >= 2) weights.push_back(&t);
    i32(int32_t(weights.size()));
    for (const kq::GgufTensorInfo* t : weights) {
      i32(int32_t(t->name.size()));
      f.write(t->name.data(), std::streamsize(t->name.size()));
      i32(1);
      i32(int32_t(t->ne[0]));
      for (int64_t j = 0; j < t->ne[0]; ++j) {
        const float v = 1.0f + float(j % 7);
        f.write(reinterpret_cast<const char*>(&v), sizeof v);
      }
    }
  }
  const CommandResult r =
      run_kq({"quantize", tiny(), out, "--fit", std::to_string(budget), "-c", "128", "--imatrix", dat, "-t", "2"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(bytes_after(r.out, "planned total") <= budget);
  const kq::GgufFile f = kq::GgufFile::open(out);
  REQUIRE(f.find("quantize.imatrix.file"));
  CHECK(f.get_string("quantize.imatrix.file") == dat);
}
