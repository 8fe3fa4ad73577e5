// Quality bar of `kq quantize --fit`: at a budget equal to the size of llama.cpp's Q3_K_M (Q4_K_M)
// file of synth-tiny, the chosen mix loses less than that fixed mix: lower mean KLD against the F32
// base on tinytext.txt at n_ctx 128.
//
// "Size" is the same for both sides: the file's tensor bytes plus what --fit plans beside them
// (metadata, F16 KV cache for -c 128, scratch), which --fit prints when asked for too little.
#include <catch2/catch.hpp>
#include <cstdio>
#include <regex>
#include <string>

#include "formats/gguf.h"
#include "runtime/model.h"
#include "runtime/perplexity.h"
#include "tests/support/run_command.h"
#include "tests/support/testdata.h"

namespace {

double mean_kld(const std::string& model_path) {
  const auto model = kq::Model::load(model_path);
  kq::PerplexityOptions o;
  o.n_ctx = 128;
  o.bos_id = int32_t(model->gguf().get_int("tokenizer.ggml.bos_token_id", 1));
  const kq::KldResult r = kq::kl_divergence(*model, kq::test::testdata_file("kld/synth-tiny-f32.kldbase"), o);
  REQUIRE(r.n_scored == 10 * 63);
  return r.mean_kld;
}

// Metadata + KV cache + scratch that --fit plans for `src` at -c 128, read from its too-small error.
uint64_t non_weight_bytes(const std::string& src) {
  const kq::test::CommandResult r = kq::test::run_kq({"quantize", src, "--fit", "1", "-c", "128", "--dry-run"});
  REQUIRE(r.exit_code == 1);
  uint64_t total = 0;
  for (const char* part : {"metadata", "\\(F16\\)", "scratch", "runtime"}) {
    std::smatch m;
    REQUIRE(std::regex_search(r.err, m, std::regex(std::string(part) + " [0-9.]+ MiB \\(([0-9]+) bytes\\)")));
    total += std::stoull(m[1].str());
  }
  return total;
}

}  // namespace

TEST_CASE("quantize --fit quality: lower KLD than llama.cpp's Q3_K_M and Q4_K_M at their sizes (synth-tiny)",
          "[conformance][app][fit]") {
  const std::string src = kq::test::testdata_file("quant/synth-tiny-f32.gguf");
  const uint64_t beside = non_weight_bytes(src);
  std::printf("%-8s %12s %12s %14s %14s\n", "mix", "fixed bytes", "fit bytes", "fixed KLD", "fit KLD");
  for (const std::string ftype : {"Q3_K_M", "Q4_K_M"}) {
    const std::string fixed = kq::test::testdata_file("quant/synth-tiny-mix-" + ftype + ".gguf");
    const kq::GgufFile fixed_file = kq::GgufFile::open(fixed);
    const uint64_t fixed_tensors = fixed_file.file_size() - fixed_file.data_offset();
    const uint64_t budget = fixed_tensors + beside;

    const std::string out = kq::test::scratch_dir() + "/fit-quality-" + ftype + ".gguf";
    const kq::test::CommandResult q =
        kq::test::run_kq({"quantize", src, out, "--fit", std::to_string(budget), "-c", "128", "-t", "2"});
    INFO(ftype << ": " << q.err);
    REQUIRE(q.exit_code == 0);
    const kq::GgufFile fit_file = kq::GgufFile::open(out);
    const uint64_t fit_tensors = fit_file.file_size() - fit_file.data_offset();
    CHECK(fit_tensors <= fixed_tensors);

    const double fixed_kld = mean_kld(fixed), fit_kld = mean_kld(out);
    std::printf("%-8s %12llu %12llu %14.6f %14.6f\n", ftype.c_str(), (unsigned long long)fixed_tensors,
                (unsigned long long)fit_tensors, fixed_kld, fit_kld);
    CHECK(fit_kld < fixed_kld);
  }
}
