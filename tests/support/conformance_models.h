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

// What llama.cpp computed for `Once upon a time` (see testdata/README.md).
struct RefDump {
  std::vector<int32_t> prompt_ids;                             // prompt ids, BOS first
  std::vector<std::vector<std::pair<int32_t, float>>> top5;  // [step][5] (id, logit), best first
  std::vector<int32_t> greedy_ids;                             // the 32 greedy ids
};

// Reads refs/<name>.refdump.txt; FAILs the test when the file is missing or incomplete.
RefDump read_refdump(const std::string& name);

}  // namespace kq::test
