// The conformance models of testdata (stories260K and quant/synth-tiny-*) and llama.cpp's refdumps of them.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kq::test {

// Every model with a llama.cpp refdump, by name (e.g. "stories260K", "synth-tiny-pure-Q4_0").
extern const char* const kConformanceModels[21];

// Path of a conformance model's GGUF (stories260K at the top, the others under quant/).
std::string model_path(const std::string& name);
// Whether the model's weights are unquantized (F32/F16/BF16): those get the tight bars.
bool is_unquantized(const std::string& name);

// BF16 models: llama.cpp rounds the activations to bf16 before multiplying them with BF16 weights;
// kq keeps them f32 (kld_quality_test holds kq's loss against the F32 base to at most llama.cpp's).
// So kq's logits differ from llama.cpp's by llama.cpp's own activation rounding, and the bars
// against llama.cpp's references for these models are that rounding's measured size:
bool llamacpp_rounds_activations(const std::string& name);
// llama.cpp's synth-tiny-pure-BF16 mean KLD against the F32 base (kld/llamacpp-kld-vs-f32.json).
constexpr double kLlamacppBf16MeanKld = 0.000601;
// max |logit| difference over the step-0 top 5 between llama.cpp's refdumps of `name` and of
// synth-tiny-f32 (the same weights before rounding): 0.0705 for synth-tiny-pure-BF16.
double llamacpp_step0_diff_vs_f32(const std::string& name);

// What llama.cpp computed for `Once upon a time` (see testdata/README.md).
struct RefDump {
  std::vector<int32_t> prompt_ids;                             // prompt ids, BOS first
  std::vector<std::vector<std::pair<int32_t, float>>> top5;  // [step][5] (id, logit), best first
  std::vector<int32_t> greedy_ids;                             // the 32 greedy ids
};

// Reads refs/<name>.refdump.txt; FAILs the test when the file is missing or incomplete.
RefDump read_refdump(const std::string& name);

}  // namespace kq::test
