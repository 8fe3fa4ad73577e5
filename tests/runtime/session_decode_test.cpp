// Session::forward_decode (one parallel region per decode step) gives forward()'s logits bit for bit.
#include <catch2/catch.hpp>
#include <memory>
#include <utility>
#include <string>
#include <vector>

#include "runtime/model.h"
#include "runtime/session.h"
#include "tests/support/run_command.h"
#include "tests/support/testdata.h"

namespace {

// Watching the matmuls sends a session through forward() for every batch size; without it, a
// multi-thread session decodes through forward_decode().
class NoObserver : public kq::MatmulObserver {
 public:
  void observe(const kq::TensorView&, const float*, int) override {}
};

std::vector<float> row(const kq::Session& s, int i) {
  const float* l = s.logits(i);
  return std::vector<float>(l, l + s.n_vocab());
}

// A synth-tiny model whose Q, K, V (and gate, up) weights take different activation types
// (Q8_K for Q4_K, Q8_0 for Q8_0/Q4_0), so the team converts each weight's input on its own.
std::string mixed_activation_model() {
  static const std::string path = [] {
    const std::string out = kq::test::scratch_dir() + "/synth-tiny-mixed-act.gguf";
    const kq::test::CommandResult r =
        kq::test::run_kq({"quantize", kq::test::testdata_file("quant/synth-tiny-f32.gguf"), out, "Q4_K_S",
                          "--tensor-type", "attn_k=Q8_0", "--tensor-type", "ffn_up=Q4_0"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return out;
  }();
  return path;
}

}  // namespace

TEST_CASE("session: decode in one parallel region gives forward()'s logits bit for bit", "[model]") {
  const std::vector<std::string> files = {
      kq::test::testdata_file("quant/synth-tiny-f32.gguf"),
      kq::test::testdata_file("quant/synth-tiny-mix-Q4_K_M.gguf"),
      kq::test::testdata_file("quant/synth-tiny-pure-Q4_0.gguf"),
      mixed_activation_model(),
  };
  // A 240-token prompt: later decode steps attend over enough positions to split attention
  // over the team; the first steps of a fresh session run it on one thread.
  std::vector<int32_t> prompt;
  for (int i = 0; i < 240; ++i) prompt.push_back(int32_t(1 + (i * 37) % 500));

  for (const std::string& file : files) {
    const auto model = kq::Model::load(file);
    // Transposed V (F16) and row-layout V (Q8_0); 2 and 3 threads cut the rows differently.
    for (const auto& [cache, threads] : {std::pair{kq::QType::F16, 2}, std::pair{kq::QType::Q8_0, 3}}) {
      {
        INFO(file << ", cache " << kq::type_name(cache) << ", " << threads << " threads");
        NoObserver none;
        kq::Session ref(*model, {256, 512, threads, cache});
        ref.set_matmul_observer(&none);
        kq::Session team(*model, {256, 512, threads, cache});
        const auto step = [&](const std::vector<int32_t>& tokens) {
          ref.eval(tokens, true);
          team.eval(tokens, true);
          for (int i = 0; i < int(tokens.size()); ++i) CHECK(row(team, i) == row(ref, i));
        };
        for (const int32_t t : {1, 429, 491}) step({t});  // short context: attention on one thread
        step({433, 295});                                 // 2 and 3 tokens are decode steps too
        step({429, 444, 445});
        ref.truncate(0);
        team.truncate(0);
        step(prompt);                                          // prefill, the same code in both
        for (const int32_t t : {478, 12, 300, 7}) step({t});  // attention split over the team
      }
    }
  }
}
