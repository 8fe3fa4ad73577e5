// Quality bar (issue 5): on SmolLM2-135M-Instruct, an imatrix made by kq imatrix from tinytext.txt
// (~2 KB) lowers the mean KL divergence of Q4_K_M, Q3_K_M and IQ4_XS against the F32 base.
//
// The base is the default model's Q4_1 weights dequantized to F32 (kq quantize --allow-requantize
// ... F32); the imatrix is collected on that F32 model; the KLD is measured on a different text
// (kEvalText below, written for this test) so the gain is not just fitting the calibration text.
// Small contexts keep it affordable: imatrix -c 128 over the whole of tinytext (4 chunks), KLD over
// 2 chunks of 128 tokens (126 scored positions). Measured 2026-11-25 with the refined quantizers and
// Q8_0H activations for the model's Q8_0 tensors (mean KLD, without -> with imatrix): Q4_K_M
// 0.03452 -> 0.02935 (0.85), Q3_K_M 0.07524 -> 0.04379 (0.58), IQ4_XS 0.13965 -> 0.06800 (0.49).
// The issue asks for a lower figure; the bar asks for at least 10% lower. Each figure is a
// 126-position mean (standard error ~0.002-0.003), and Q4_K_M's gain shrank as the quantizers got
// better without an imatrix (0.79 before the Q8_0H activations, 0.58 before the refined search).
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "runtime/model.h"
#include "runtime/perplexity.h"
#include "runtime/tokenizer.h"
#include "tests/runtime/tokenizer_test_util.h"
#include "tests/support/run_command.h"
#include "tests/support/testdata.h"

namespace {

using kq::test::CommandResult;
using kq::test::run_kq;

constexpr int kCtx = 128;

// A short story unrelated to tinytext.txt's (319 SmolLM2 tokens: two chunks of 128).
constexpr const char* kEvalText =
    "The lighthouse keeper woke before the sun, as he had done for thirty years. He climbed the narrow "
    "stairs, counting each step out of habit, and wiped the salt from the great glass lens. Out on the "
    "water, a small fishing boat was heading home, its engine coughing in the cold air. The keeper waved,"
    " although he knew nobody could see him from so far away.\n"
    "In the village below, the baker was already pulling loaves from the oven. The smell of warm bread "
    "drifted down the empty street and into the harbour, where gulls argued over a broken crate. A girl "
    "named Mara walked past with her grandmother's dog, a slow grey animal that stopped at every lamp "
    "post. She was thinking about the test at school, and about the letter she had not yet answered.\n"
    "When the boat reached the pier, the fisherman threw a rope to Mara, and she tied it the way her "
    "father had taught her. \"Good knot,\" he said, and handed her a fish wrapped in newspaper. She thanked"
    " him and hurried on, because the church bell was ringing eight and the bus would not wait.\n"
    "That evening the wind changed. Clouds rolled in from the west, heavy and dark, and the first drops "
    "of rain hit the windows like handfuls of gravel. The keeper lit the lamp and sat beside it with a "
    "cup of tea, listening to the storm and writing in his notebook: calm morning, one boat out, one boat"
    " home, rain by nightfall. It was the kind of day he liked best, because nothing had gone wrong.";

std::string scratch(const std::string& name) {
  return kq::test::scratch_dir() + "/" + name;
}

void run_ok(const std::vector<std::string>& args) {
  const CommandResult r = run_kq(args);
  INFO("kq " << args[0] << ": " << r.err);
  REQUIRE(r.exit_code == 0);
}

// Mean KLD of `model_path` against the base logits file, each chunk starting as the base's did.
double mean_kld(const std::string& model_path, const std::string& base, int32_t bos_id) {
  const auto model = kq::Model::load(model_path);
  kq::PerplexityOptions o;
  o.bos_id = bos_id;
  return kq::kl_divergence(*model, base, o).mean_kld;
}

}  // namespace

TEST_CASE("imatrix quality: SmolLM2 Q4_K_M, Q3_K_M and IQ4_XS lose less with kq's imatrix", "[conformance][slow]") {
  namespace fs = std::filesystem;
  const std::string f32 = scratch("smol-f32.gguf"), base = scratch("smol-eval.kld"), im = scratch("smol.imatrix");
  run_ok({"quantize", "--allow-requantize", kq::test::default_model_path(), f32, "F32"});

  // Base logits of the F32 model on the evaluation text.
  const std::string eval = scratch("eval.txt");
  std::ofstream(eval) << kEvalText;
  int32_t bos_id = -1;
  {
    const auto model = kq::Model::load(f32);
    const auto tok = kq::Tokenizer::from_gguf(model->gguf());
    bos_id = tok->add_bos() ? tok->bos() : -1;  // as kq ppl does
    kq::PerplexityOptions o;
    o.n_ctx = kCtx;
    o.bos_id = bos_id;
    const kq::PerplexityResult r = kq::perplexity(*model, tok->encode(kEvalText, true), o, base);
    REQUIRE(r.n_chunks == 2);
  }
  run_ok({"imatrix", "-m", f32, "-f", kq::test::testdata_file("tinytext.txt"), "-o", im, "-c", std::to_string(kCtx)});

  for (const char* type : {"Q4_K_M", "Q3_K_M", "IQ4_XS"}) {
    const std::string plain = scratch(std::string("smol-") + type + ".gguf");
    const std::string weighted = scratch(std::string("smol-") + type + "-imatrix.gguf");
    run_ok({"quantize", f32, plain, type});
    run_ok({"quantize", f32, weighted, type, "--imatrix", im});
    const double without = mean_kld(plain, base, bos_id), with = mean_kld(weighted, base, bos_id);
    std::fprintf(stderr, "imatrix quality: %-6s mean KLD %.6f without, %.6f with the imatrix\n", type, without, with);
    INFO(type << ": mean KLD " << without << " without, " << with << " with the imatrix");
    // Measured ratios are 0.49-0.85 (header); 0.9 still asks for a real gain.
    CHECK(with < 0.9 * without);
    fs::remove(plain);
    fs::remove(weighted);
  }
  fs::remove(f32);
}
